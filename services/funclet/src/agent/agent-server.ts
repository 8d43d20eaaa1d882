/**
 * The part every Node-based agent mode shares: the unix socket, the frames,
 * one function per sandbox, and per-call log forwarding. A mode only says how
 * to load a function and how to run one call. Node builtins only.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { CallLog } from './call-log.js';
import { CallSpans } from './call-spans.js';
import type { HttpReply } from './http-reply.js';
import { FrameDecoder, FrameType, encodeFrame, readFrames, writeFrame, type ErrorHeader, type Frame, type InvokeHeader, type LoadHeader, type SpansHeader } from './wire.js';

/** A failure before the handler ran (bad handler, code that cannot load). */
export class LoadError extends Error {
  constructor(
    readonly type: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A function failure with a type of the platform's choosing (ExitError, ...). */
export class FunctionFailure extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly detail = '',
  ) {
    super(message);
  }
}

export interface AgentRuntime {
  load(header: LoadHeader): Promise<void>;
  /**
   * Runs one call; resolves with the JSON-encoded result (event calls) or the
   * HTTP answer (HTTP calls), throws for a function error.
   */
  invoke(header: InvokeHeader, payload: Buffer, log: CallLog, spans?: CallSpans): Promise<Uint8Array | HttpReply>;
  /**
   * Runs once at boot, before the agent listens: first-use costs (module
   * loaders, the call path's code) paid ahead of the function's LOAD. Must
   * leave nothing a function could see.
   */
  warmUp?(): Promise<void>;
  /** Stops what the runtime started (its server, its bootstrap); tests use it. */
  stop?(): void;
}

interface InFlightCall {
  readonly socket: Socket;
  readonly requestId: number;
}

export function errorHeader(error: unknown, fallbackType = 'Error'): ErrorHeader {
  if (error instanceof FunctionFailure || error instanceof LoadError) {
    return { type: error.type, message: error.message, stack: error instanceof FunctionFailure ? error.detail : (error.stack ?? '') };
  }
  if (error instanceof Error) {
    return { type: error.name || fallbackType, message: error.message, stack: error.stack ?? '' };
  }
  return { type: fallbackType, message: typeof error === 'string' ? error : safeString(error), stack: '' };
}

export function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export interface AgentServer {
  /** Reports an error nobody awaited against every call running now. */
  reportUncaught(error: unknown): void;
}

export function serveAgent(runtime: AgentRuntime, socketPath: string): AgentServer {
  let loaded = false;
  let loading: Promise<void> | undefined;
  const inFlight = new Set<InFlightCall>();

  const send = (socket: Socket, requestId: number, type: number, header?: unknown, body?: Uint8Array) => {
    if (socket.destroyed || !socket.writable) return;
    writeFrame(socket, encodeFrame(requestId, type, header, body));
  };

  const load = async (socket: Socket, requestId: number, header: LoadHeader) => {
    if (loaded || loading) {
      send(socket, requestId, FrameType.ERROR, { type: 'InitError', message: 'this sandbox already loaded a function' });
      return;
    }
    Object.assign(process.env, header.env, {
      FAAS_FUNCTION_NAME: header.functionName,
      FAAS_FUNCTION_VERSION: header.version,
      FAAS_FUNCTION_MEMORY_MB: String(header.memoryMb),
    });
    loading = runtime.load(header);
    try {
      await loading;
      loaded = true;
      send(socket, requestId, FrameType.OK);
    } catch (error) {
      loading = undefined;
      send(socket, requestId, FrameType.ERROR, errorHeader(error, 'InitError'));
    }
  };

  const invoke = async (socket: Socket, requestId: number, header: InvokeHeader, payload: Buffer) => {
    if (!loaded) {
      send(socket, requestId, FrameType.ERROR, { type: 'InitError', message: 'no function is loaded in this sandbox' });
      return;
    }
    const call: InFlightCall = { socket, requestId };
    inFlight.add(call);
    // LOG frames carry no request id of their own: the call id in their header says whose they are.
    const log = new CallLog(header.callId, (logHeader, bytes) => send(socket, 0, FrameType.LOG, logHeader, bytes));
    let reply: { type: number; header?: unknown; body?: Uint8Array };
    // Asked for spans: the call runs under the agent's span, whatever the runtime.
    const spans = header.recordSpans ? CallSpans.from(header.traceparent) : undefined;
    const callHeader = spans ? { ...header, traceparent: spans.handlerTraceparent } : header;
    try {
      const answer = await runtime.invoke(callHeader, payload, log, spans);
      reply = answer instanceof Uint8Array ? { type: FrameType.RESULT, body: answer } : { type: FrameType.RESULT, header: answer.head, body: answer.body };
    } catch (error) {
      reply = { type: FrameType.FUNCTION_ERROR, header: errorHeader(error) };
    }
    // Already answered when an uncaught error was reported against this call.
    if (!inFlight.delete(call)) return;
    if (spans) {
      const failed = reply.type === FrameType.FUNCTION_ERROR ? (reply.header as ErrorHeader).type : undefined;
      const spansHeader: SpansHeader = { callId: header.callId, spans: spans.finish(header.callId, failed) };
      send(socket, 0, FrameType.SPANS, spansHeader);
    }
    send(socket, requestId, reply.type, reply.header, reply.body);
  };

  const onFrame = (socket: Socket, frame: Frame) => {
    switch (frame.type) {
      case FrameType.LOAD:
        void load(socket, frame.requestId, frame.header as LoadHeader);
        break;
      case FrameType.INVOKE:
        void invoke(socket, frame.requestId, frame.header as InvokeHeader, frame.body);
        break;
      case FrameType.PING:
        send(socket, frame.requestId, FrameType.OK);
        break;
      default:
        send(socket, frame.requestId, FrameType.ERROR, { type: 'ProtocolError', message: `unknown frame type ${frame.type}` });
    }
  };

  // The frame code's first run (compiling it) happens now rather than on the function's LOAD.
  new FrameDecoder().push(encodeFrame(0, FrameType.OK, { warm: true }, new Uint8Array(1)));
  if (existsSync(socketPath)) unlinkSync(socketPath);
  const server = createServer((socket) => {
    readFrames(
      socket,
      (frame) => onFrame(socket, frame),
      (error) => {
        process.stderr.write(`dropping connection: ${error.message}\n`);
        socket.destroy();
      },
    );
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      for (const call of inFlight) if (call.socket === socket) inFlight.delete(call);
    });
  });
  server.listen(socketPath);

  return {
    reportUncaught(error) {
      if (inFlight.size === 0) {
        process.stderr.write(`uncaught error outside any invocation: ${error instanceof Error ? error.stack : safeString(error)}\n`);
        return;
      }
      const header = errorHeader(error);
      for (const call of inFlight) send(call.socket, call.requestId, FrameType.FUNCTION_ERROR, header);
      inFlight.clear();
    },
  };
}
