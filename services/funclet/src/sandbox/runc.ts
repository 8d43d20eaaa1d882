/**
 * The runc commands the funclet needs, all against its own state directory
 * (`runc --root`), so several funclets on one host never see each other's
 * containers.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { PlatformError } from '@faas/errors';

export interface RuncContainer {
  readonly id: string;
  readonly status: string;
  readonly pid: number;
}

export interface StartedContainer {
  /** Host pid of the container's init process. */
  readonly pid: number;
  /** The container's stdout and stderr (runc hands them its own pipes). */
  readonly stdout: Readable;
  readonly stderr: Readable;
}

const COMMAND_TIMEOUT_MS = 15_000;

export class Runc {
  constructor(
    private readonly binary: string,
    private readonly root: string,
  ) {}

  /**
   * `runc run --detach`: returns once the container's process runs. Its
   * output keeps flowing through the returned streams after runc exits.
   */
  run(id: string, bundleDir: string, pidFile: string): Promise<StartedContainer> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['--root', this.root, 'run', '--detach', '--bundle', bundleDir, '--pid-file', pidFile, id], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let early = '';
      const collect = (chunk: Buffer) => {
        if (early.length < 8192) early += chunk.toString('utf8');
      };
      child.stderr.on('data', collect);
      child.stdout.on('data', collect);
      child.once('error', (error) => reject(new PlatformError('sandbox_failed', `cannot run ${this.binary}: ${error.message}`, { cause: error })));
      child.once('exit', (code, signal) => {
        if (code === 0) {
          child.stderr.off('data', collect);
          child.stdout.off('data', collect);
          readFile(pidFile, 'utf8').then(
            (text) => resolve({ pid: Number(text.trim()), stdout: child.stdout, stderr: child.stderr }),
            (error: Error) => reject(new PlatformError('sandbox_failed', `runc left no pid file: ${error.message}`, { cause: error })),
          );
          return;
        }
        // On failure nobody else holds the pipes: wait for them to drain so the message is complete.
        child.once('close', () =>
          reject(new PlatformError('sandbox_failed', `runc run ${id} failed (${signal ?? `exit ${code}`}): ${summarise(early)}`)),
        );
      });
    });
  }

  async kill(id: string, signal = 'KILL'): Promise<void> {
    await this.exec(['kill', id, signal]);
  }

  /** Removes the container, killing it first when it still runs. */
  async forceDelete(id: string): Promise<void> {
    await this.exec(['delete', '--force', id]);
  }

  async list(): Promise<RuncContainer[]> {
    const output = await this.exec(['list', '--format', 'json']);
    const parsed = JSON.parse(output.trim() || 'null') as RuncContainer[] | null;
    return parsed ?? [];
  }

  private exec(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, ['--root', this.root, ...args], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new PlatformError('sandbox_failed', `runc ${args.join(' ')} failed: ${summarise(stderr || error.message)}`, { cause: error }));
        else resolve(stdout);
      });
    });
  }
}

/** runc logs in logfmt; the last msg is the useful one. */
function summarise(output: string): string {
  const messages = [...output.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]!.replace(/\\"/g, '"'));
  return (messages.at(-1) ?? output).trim().slice(0, 1000) || 'no output';
}
