import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TriggerConfigSchema, create } from '@faas/protocol';
import { createLogger } from '@faas/telemetry';
import { CronScheduler, type TickStore } from './cron-scheduler.js';

const logger = createLogger('cron-test', 'silent');
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

class MemoryTicks implements TickStore {
  readonly last_ = new Map<string, number>();
  async last(trigger: string) {
    return this.last_.get(trigger);
  }
  async advance(trigger: string, tickMs: number) {
    this.last_.set(trigger, Math.max(this.last_.get(trigger) ?? 0, tickMs));
  }
}

const everyMinute = (updatedAtMs = T0 - 10 * MINUTE) =>
  create(TriggerConfigSchema, { name: 'tick', type: 'cron', functionName: 'echo', schedule: '* * * * *', timezone: 'UTC', event: '{}', updatedAtMs: BigInt(updatedAtMs) });

/** Two replicas sharing one tick store, and the set of (trigger, tick) calls they queued, as JetStream de-duplicates by call id. */
function replicas(ticks: TickStore) {
  const published: number[] = [];
  const queued = new Set<number>();
  const make = () =>
    new CronScheduler({
      ticks,
      logger,
      fire: async (_trigger, tickMs) => {
        published.push(tickMs);
        queued.add(tickMs);
      },
    });
  return { published, queued, a: make(), b: make() };
}

describe('CronScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0 + 30_000);
  });
  afterEach(() => vi.useRealTimers());

  it('fires every tick once across two replicas', async () => {
    const ticks = new MemoryTicks();
    ticks.last_.set('tick', T0);
    const { queued, a, b } = replicas(ticks);
    a.update([everyMinute()]);
    b.update([everyMinute()]);
    await vi.advanceTimersByTimeAsync(3 * MINUTE);
    a.stop();
    b.stop();
    expect([...queued].sort()).toEqual([T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
  });

  it('fires a tick missed while every replica was down once, and not the older ones', async () => {
    const ticks = new MemoryTicks();
    ticks.last_.set('tick', T0 - 5 * MINUTE);
    const { published, a, b } = replicas(ticks);
    a.update([everyMinute()]);
    await vi.advanceTimersByTimeAsync(0);
    b.update([everyMinute()]);
    await vi.advanceTimersByTimeAsync(0);
    a.stop();
    b.stop();
    expect(published).toEqual([T0]);
  });

  it('owes no tick from before the trigger existed', async () => {
    const ticks = new MemoryTicks();
    const { published, a } = replicas(ticks);
    a.update([everyMinute(T0 + 10_000)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(published).toEqual([]);
    await vi.advanceTimersByTimeAsync(MINUTE);
    a.stop();
    expect(published).toEqual([T0 + MINUTE]);
  });

  it('tries a tick again when it could not be queued', async () => {
    const ticks = new MemoryTicks();
    ticks.last_.set('tick', T0);
    let failures = 2;
    const fired: number[] = [];
    const scheduler = new CronScheduler({
      ticks,
      logger,
      fire: async (_trigger, tickMs) => {
        if (failures-- > 0) throw new Error('nats down');
        fired.push(tickMs);
      },
    });
    scheduler.update([everyMinute()]);
    await vi.advanceTimersByTimeAsync(MINUTE);
    scheduler.stop();
    expect(fired).toEqual([T0 + MINUTE]);
  });
});
