/**
 * The funclet's end of a sandbox's agent socket: sends requests, matches
 * replies by request id, and fails everything still waiting when the
 * connection drops (the runtime died).
 */
import { closeSync, openSync, watch, type FSWatcher } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFrame, readFrames, writeFrame, type Frame } from '../agent/wire.js';

/** Every request that was waiting when the connection closed fails with this. */
export class AgentDisconnectedError extends Error {
  override readonly name = 'AgentDisconnectedError';
}

/** A request the agent did not answer within its time. */
export class AgentTimeoutError extends Error {
  override readonly name = 'AgentTimeoutError';
}

interface Waiter {
  resolve(frame: Frame): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

/** Retry intervals for the agent's socket, with and without a watch on its folder. */
const SLOW_POLL_MS = 25;
const FAST_POLL_MS = 3;

/** A unix socket path longer than this does not fit sockaddr_un. */
const MAX_SOCKET_PATH_BYTES = 100;

export class AgentClient {
  private readonly pending = new Map<number, Waiter>();
  private nextRequestId = 1;
  private closedWith?: AgentDisconnectedError;
  private readonly closeListeners: Array<() => void> = [];
  private unsolicitedListener?: (frame: Frame) => void;

  private constructor(private readonly socket: Socket) {
    readFrames(
      socket,
      (frame) => {
        const waiter = this.pending.get(frame.requestId);
        if (!waiter) {
          // LOG frames (request id 0) are unsolicited; late replies (a call
          // already answered by an uncaught error) are dropped.
          if (frame.requestId === 0) this.unsolicitedListener?.(frame);
          return;
        }
        this.pending.delete(frame.requestId);
        clearTimeout(waiter.timer);
        waiter.resolve(frame);
      },
      (error) => socket.destroy(error),
    );
    socket.on('error', () => {
      // 'close' follows and reports it.
    });
    socket.on('close', () => {
      this.closedWith = new AgentDisconnectedError('the runtime agent closed its connection');
      for (const waiter of this.pending.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(this.closedWith);
      }
      this.pending.clear();
      for (const listener of this.closeListeners) listener();
    });
  }

  /**
   * Connects as soon as the agent listens: the socket's appearance in its
   * folder wakes the wait (inotify), with a slow poll behind it in case a
   * watch cannot be set. `isAlive` lets the wait end early when the sandbox
   * died before ever listening.
   */
  static async connectWhenReady(socketPath: string, timeoutMs: number, isAlive: () => boolean): Promise<AgentClient> {
    const deadline = Date.now() + timeoutMs;
    let lastError: Error | undefined;
    let wake: (() => void) | undefined;
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dirname(socketPath), () => wake?.());
      watcher.on('error', () => {});
    } catch {
      // Polling alone.
    }
    try {
      while (Date.now() < deadline) {
        if (!isAlive()) throw new AgentDisconnectedError('the sandbox exited before its agent listened');
        const woken = new Promise<void>((resolve) => (wake = resolve));
        try {
          return new AgentClient(await connectOnce(socketPath));
        } catch (error) {
          lastError = error as Error;
        }
        await Promise.race([woken, sleep(watcher ? SLOW_POLL_MS : FAST_POLL_MS)]);
      }
    } finally {
      watcher?.close();
    }
    throw new AgentDisconnectedError(`the agent did not listen within ${timeoutMs} ms (${lastError?.message ?? 'no attempt'})`);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  onClose(listener: () => void): void {
    if (this.closedWith) listener();
    else this.closeListeners.push(listener);
  }

  /** Frames the agent sends on its own (LOG), e.g. to the log sink. */
  onUnsolicited(listener: (frame: Frame) => void): void {
    this.unsolicitedListener = listener;
  }

  /** Sends one request; its reply, or AgentTimeoutError after `timeoutMs` (a late reply is then dropped). */
  request(type: number, timeoutMs: number, header?: unknown, body?: Uint8Array): Promise<Frame> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const requestId = this.nextRequestId;
    this.nextRequestId = (this.nextRequestId % 0xffff_fffe) + 1;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      waiter.timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new AgentTimeoutError(`the agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, waiter);
      writeFrame(this.socket, encodeFrame(requestId, type, header, body));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function connectOnce(socketPath: string): Promise<Socket> {
  // Deep state directories make paths too long for a unix socket address;
  // going through an open descriptor of the folder keeps the address short.
  let dirFd: number | undefined;
  let address = socketPath;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    dirFd = openSync(dirname(socketPath), 'r');
    address = `/proc/self/fd/${dirFd}/${basename(socketPath)}`;
  }
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect(address);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  }).finally(() => {
    if (dirFd !== undefined) closeSync(dirFd);
  });
}
