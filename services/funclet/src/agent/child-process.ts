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

/** SIGKILL to the child's whole process group (it was started detached), while the child runs. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/**
 * SIGKILL to what is left of the group a child led, once the child itself
 * has exited: its background processes (`cmd &`, a daemon that ignores
 * SIGTERM) are still members. Called as the child's exit is reported: the
 * kernel keeps a group's id from being reused while any member lives, so
 * it names nobody else's processes.
 */
export function killLeftovers(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing was left.
  }
}
