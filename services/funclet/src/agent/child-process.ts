/**
 * Starting a function's own programs (exec, http and custom runtimes): run
 * through /bin/sh so a handler can be any command line, in its own process
 * group so that everything it started can be killed at once.
 * Node builtins only.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export const MAX_TAIL_BYTES = 4096;

export function startCommand(commandLine: string, options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
  return spawn('/bin/sh', ['-c', commandLine], { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** SIGKILL to the child's whole process group (it was started detached). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Keeps the last `limit` bytes written to it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = MAX_TAIL_BYTES) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }

  toString(): string {
    const joined = Buffer.concat(this.chunks);
    return joined.subarray(Math.max(0, joined.length - this.limit)).toString('utf8');
  }
}
