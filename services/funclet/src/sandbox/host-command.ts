/** Runs a host tool (ip, iptables, mount) and fails with its stderr. */
import { execFile } from 'node:child_process';

export interface HostCommandOptions {
  /** Working directory (relative paths in the arguments are resolved from it). */
  readonly cwd?: string;
}

export type HostCommand = (file: string, args: readonly string[], options?: HostCommandOptions) => Promise<string>;

const COMMAND_TIMEOUT_MS = 10_000;

export const runHostCommand: HostCommand = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { cwd: options.cwd, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${(stderr || error.message).trim()}`, { cause: error }));
      else resolve(stdout);
    });
  });
