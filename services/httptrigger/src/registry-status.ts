/**
 * What stubs last said about the registry's durability, asked in the
 * background every half minute, so /healthz can warn without a call to
 * stubs per probe, and the log says it once when it changes.
 */
import type { Logger } from '@faas/telemetry';
import type { Clients } from './clients.js';

const ASK_EVERY_MS = 30_000;

export class RegistryStatusWatch {
  private warning: string | undefined;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly stubs: Pick<Clients['stubs'], 'getRegistryStatus'>,
    private readonly logger: Logger,
  ) {}

  /** The last warning; undefined while the registry is durable or stubs was not reached yet. */
  get current(): string | undefined {
    return this.warning;
  }

  async start(): Promise<void> {
    await this.ask();
    this.timer = setInterval(() => void this.ask(), ASK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async ask(): Promise<void> {
    try {
      const status = await this.stubs.getRegistryStatus({}, { timeoutMs: 5_000 });
      const warning = status.durable ? undefined : status.warning || 'the registry is not durable';
      if (warning && warning !== this.warning) this.logger.warn(warning);
      this.warning = warning;
    } catch {
      // Stubs away: the last answer stands; its own health says it is away.
    }
  }
}
