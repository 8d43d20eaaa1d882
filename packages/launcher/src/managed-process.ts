import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ManagedProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Receives every output line (stdout and stderr), e.g. to echo it. */
  readonly onLine?: (line: string) => void;
}

/** Children still running, stopped if this process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  // Children run in their own process group, so nothing else takes them
  // down when a test runner or launcher dies with them still up. SIGTERM,
  // not SIGKILL: each service then releases what it holds (the funclet its
  // sandboxes) on its own, after we are gone.
  for (const child of running) child.kill('SIGTERM');
});

/**
 * A child process we started and must stop: keeps its recent output for
 * error messages, and knows how to wait for a line and for its exit.
 */
export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  private readonly recent: string[] = [];
  private readonly lineWaiters = new Set<(line: string) => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C at the terminal reaches only the
      // launcher, which then stops everything in order (services before
      // NATS and Redis, funclet cleaning its sandboxes on the way).
      detached: true,
    });
    running.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      });
      this.child.once('error', (error) => {
        this.remember(`spawn failed: ${error.message}`);
        resolve({ code: -1, signal: null });
      });
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.remember(line);
        options.onLine?.(line);
        for (const waiter of this.lineWaiters) waiter(line);
      });
    }
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 200) this.recent.shift();
  }

  get output(): string {
    return this.recent.join('\n');
  }

  /** Its process id (undefined when it could not be spawned). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first value `match` returns for an output line. */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.lineWaiters.delete(onLine);
      };
      const onLine = (line: string) => {
        const value = match(line);
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name} did not get ready within ${timeoutMs} ms; its output:\n${this.output}`));
      }, timeoutMs);
      this.lineWaiters.add(onLine);
      void this.exited.then(({ code, signal }) => {
        if (!this.lineWaiters.has(onLine)) return;
        done();
        reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) before it was ready; its output:\n${this.output}`));
      });
    });
  }

  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves with the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
