/**
 * One running copy of a service that can be started again as it was: same
 * environment, same port (so the others' clients reconnect to it), same
 * namespace. Supervised, it is started again after an unexpected exit, as
 * Compose's `restart: unless-stopped` would: after 1 s, doubling to 30 s
 * while it keeps dying within a minute of starting.
 */
import { startService, type RunningService, type ServiceName, type StartOptions } from './services.js';

const FIRST_BACKOFF_MS = 1_000;
const LAST_BACKOFF_MS = 30_000;
/** Up this long, a replica's next failure starts the backoff over. */
const STABLE_AFTER_MS = 60_000;

/** The listen variables that carry a service's own port. */
const LISTEN_KEYS = ['STUBS_LISTEN', 'CONTROLLER_LISTEN', 'FUNCLET_LISTEN', 'QUEUE_WORKER_LISTEN'];

export interface ReplicaOptions {
  readonly name: ServiceName;
  /** "controller-2" for a second controller; the service's name for the first. */
  readonly label: string;
  readonly env: NodeJS.ProcessEnv;
  readonly onLine?: (line: string) => void;
  readonly start?: Omit<StartOptions, 'label'>;
  /** Restart after unexpected exits, telling `onEvent`. */
  readonly supervise?: boolean;
  /**
   * It cleans what an earlier run of it left when it starts (the funclet's
   * sandboxes, mounts and namespaces): one found dead at stop is started
   * once more and stopped, so the platform leaves nothing behind.
   */
  readonly cleansUpAtStart?: boolean;
  readonly onEvent?: (text: string) => void;
}

export class Replica {
  private current!: RunningService;
  private env: NodeJS.ProcessEnv;
  /** Set while we stop or restart it ourselves: that exit is expected. */
  private intended = false;
  private stopped = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private startedAtMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: ReplicaOptions) {
    this.env = { ...options.env };
  }

  static async start(options: ReplicaOptions): Promise<Replica> {
    const replica = new Replica(options);
    await replica.launch();
    return replica;
  }

  get service(): RunningService {
    return this.current;
  }

  get address(): string {
    return this.current.address;
  }

  get label(): string {
    return this.options.label;
  }

  /** Stops it (SIGTERM, or `signal`) and starts it again on the same port. */
  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    clearTimeout(this.restartTimer);
    this.intended = true;
    await this.current.process.stop(signal);
    this.intended = false;
    await this.launch();
  }

  async stop(graceMs = 20_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.intended = true;
    if (!this.current.process.running && this.options.cleansUpAtStart) {
      await this.launch().catch((error: Error) => this.options.onEvent?.(`${this.options.label} could not start to clean up: ${error.message.split('\n')[0]}`));
    }
    await this.current.process.stop('SIGTERM', graceMs);
  }

  private async launch(): Promise<void> {
    const service = await startService(this.options.name, this.env, this.options.onLine, { ...this.options.start, label: this.options.label });
    this.current = service;
    this.startedAtMs = Date.now();
    // From now on the port it bound is its own: a restart reuses it.
    const port = service.address.slice(service.address.lastIndexOf(':') + 1);
    for (const key of LISTEN_KEYS) {
      const value = this.env[key];
      if (value) this.env[key] = `${value.slice(0, value.lastIndexOf(':'))}:${port}`;
    }
    if (this.options.name === 'httptrigger') this.env.HTTP_PORT = port;
    void service.process.exited.then((exit) => this.exitedOnItsOwn(service, exit));
  }

  private exitedOnItsOwn(service: RunningService, exit: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (this.intended || this.stopped || service !== this.current || !this.options.supervise) return;
    if (Date.now() - this.startedAtMs > STABLE_AFTER_MS) this.backoffMs = FIRST_BACKOFF_MS;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(LAST_BACKOFF_MS, this.backoffMs * 2);
    this.options.onEvent?.(`${this.options.label} exited (code ${exit.code}, signal ${exit.signal}); restarting it in ${delayMs / 1000} s`);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.launch().then(
        () => this.options.onEvent?.(`${this.options.label} restarted at ${this.current.address}`),
        (error: Error) => {
          this.options.onEvent?.(`${this.options.label} did not start again: ${error.message.split('\n')[0]}`);
          // Count it as another death: the next try waits longer.
          this.exitedOnItsOwn(this.current, { code: -1, signal: null });
        },
      );
    }, delayMs);
  }
}
