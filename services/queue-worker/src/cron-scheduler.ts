import { Cron } from 'croner';
import type { TriggerConfig } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';

/** The last tick each cron trigger fired, shared by every replica (Redis). */
export interface TickStore {
  last(trigger: string): Promise<number | undefined>;
  /** Records `tickMs` as fired unless a later tick already was. */
  advance(trigger: string, tickMs: number): Promise<void>;
}

export interface CronSchedulerOptions {
  /**
   * Queues one tick's call. Its call id is `cron-<trigger>-<tickMs>`, so two
   * replicas firing the same tick publish one message (JetStream drops the
   * second within its duplicate window) and run one call (the worker drops a
   * call id that already ended).
   */
  readonly fire: (trigger: TriggerConfig, tickMs: number) => Promise<void>;
  readonly ticks: TickStore;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Timers never sleep longer than this, so clock jumps and far-off ticks are re-read often. */
const MAX_SLEEP_MS = 30_000;
const RETRY_MS = 1_000;

interface Scheduled {
  readonly trigger: TriggerConfig;
  readonly cron: Cron;
  timer?: NodeJS.Timeout;
  nextMs?: number;
}

/**
 * Runs the cron triggers in this replica. Every replica runs all of them;
 * the tick's call id makes each tick one call. On (re)start a trigger
 * whose latest due tick was never fired (every replica was down) fires that
 * tick once; older missed ticks are not made up.
 */
export class CronScheduler {
  private readonly scheduled = new Map<string, Scheduled>();
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly options: CronSchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Brings the schedules in line with the cron triggers given (the others are dropped). */
  update(triggers: readonly TriggerConfig[]): void {
    const wanted = new Map(triggers.filter((trigger) => trigger.type === 'cron').map((trigger) => [trigger.name, trigger]));
    for (const [name, entry] of this.scheduled) {
      const next = wanted.get(name);
      if (!next || next.updatedAtMs !== entry.trigger.updatedAtMs) this.cancel(name);
    }
    for (const [name, trigger] of wanted) {
      if (this.scheduled.has(name)) continue;
      let cron: Cron;
      try {
        cron = new Cron(trigger.schedule, { timezone: trigger.timezone || 'UTC', paused: true });
      } catch (error) {
        // Stubs checked it; a parser upgrade that disagrees must not stop the others.
        this.options.logger.error({ err: error, trigger: name }, 'cannot schedule a cron trigger');
        continue;
      }
      const entry: Scheduled = { trigger, cron };
      this.scheduled.set(name, entry);
      void this.catchUp(entry).finally(() => this.arm(entry));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const name of [...this.scheduled.keys()]) this.cancel(name);
  }

  /** The latest tick due before now, fired when no replica fired it (nor any later one). */
  private async catchUp(entry: Scheduled): Promise<void> {
    const now = this.now();
    const [previous] = entry.cron.previousRuns(1, new Date(now));
    if (!previous) return;
    const previousMs = previous.getTime();
    // A tick before the trigger (or its latest change) existed was never owed.
    if (previousMs < Number(entry.trigger.updatedAtMs)) return;
    await this.fireOnce(entry, previousMs);
  }

  private arm(entry: Scheduled): void {
    if (this.stopped || this.scheduled.get(entry.trigger.name) !== entry) return;
    const now = this.now();
    entry.nextMs ??= entry.cron.nextRun(new Date(now))?.getTime();
    if (entry.nextMs === undefined) return;
    const sleep = Math.max(0, Math.min(entry.nextMs - now, MAX_SLEEP_MS));
    entry.timer = setTimeout(() => void this.wake(entry), sleep);
  }

  private async wake(entry: Scheduled): Promise<void> {
    const tickMs = entry.nextMs;
    if (tickMs !== undefined && this.now() >= tickMs) {
      if (await this.fireOnce(entry, tickMs)) entry.nextMs = undefined;
      else {
        // Try the same tick again shortly: NATS or Redis may be back.
        entry.timer = setTimeout(() => void this.wake(entry), RETRY_MS);
        return;
      }
    }
    this.arm(entry);
  }

  /** Fires `tickMs` unless a replica already did; false when it could not be queued. */
  private async fireOnce(entry: Scheduled, tickMs: number): Promise<boolean> {
    const name = entry.trigger.name;
    try {
      const last = await this.options.ticks.last(name);
      if (last !== undefined && last >= tickMs) return true;
      await this.options.fire(entry.trigger, tickMs);
      await this.options.ticks.advance(name, tickMs);
      return true;
    } catch (error) {
      this.options.logger.warn({ err: error, trigger: name, tickMs }, 'cannot fire a cron tick; will try again');
      return false;
    }
  }

  private cancel(name: string): void {
    const entry = this.scheduled.get(name);
    if (entry?.timer) clearTimeout(entry.timer);
    this.scheduled.delete(name);
  }
}

/** A cron tick's call id: the same on every replica, so the tick runs once. */
export function cronCallId(trigger: string, tickMs: number): string {
  return `cron-${trigger}-${tickMs}`;
}
