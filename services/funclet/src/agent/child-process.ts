/**
 * Starting a function's own programs (exec, http and custom runtimes): run
 * through /bin/sh so a handler can be any command line, in its own process
 * group so that everything it started can be killed at once.
 * Node builtins only.
 */
import { spawn, type ChildProcess } from 'node:child_process';

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
