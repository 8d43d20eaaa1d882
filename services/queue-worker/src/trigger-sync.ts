import type { TriggerConfig } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';

export interface TriggerSyncOptions {
  readonly list: () => Promise<TriggerConfig[]>;
  /** Each gets the whole list of triggers after every read. */
  readonly apply: readonly ((triggers: TriggerConfig[]) => Promise<void> | void)[];
  readonly logger: Logger;
  /** Triggers are read again this often, and at once after a change notice. */
  readonly intervalMs: number;
}

/**
 * Keeps this replica's bindings (NATS subjects, cron schedules) in line
 * with the triggers stubs holds: read at start, after every change notice,
 * and every `intervalMs` in case a notice was lost. Reads never overlap; a
 * notice during one asks for another read after it.
 */
export class TriggerSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: TriggerSyncOptions) {}

  start(): void {
    this.poke();
  }

  /** A trigger changed (or may have): read them again soon. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.running = this.syncOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.poke();
      } else if (!this.stopped) {
        this.timer = setTimeout(() => this.poke(), this.options.intervalMs);
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async syncOnce(): Promise<void> {
    try {
      const triggers = await this.options.list();
      for (const apply of this.options.apply) await apply(triggers);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'cannot bring the triggers up to date; will try again');
    }
  }
}
