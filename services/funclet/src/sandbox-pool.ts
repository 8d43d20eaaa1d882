/**
 * Generic sandboxes booted ahead of demand, per runtime: container running,
 * agent listening, cgroup and network namespace in place, no function code.
 * `take` hands one out synchronously (the caller specialises it); the pool
 * then refills in the background. Refills boot one at a time while the pools
 * are mostly full, so refilling never takes every core from the requests it
 * serves; a pool drained below half its target (start-up, a burst) boots as
 * many at once as the boot slots allow. Each pooled sandbox holds a small
 * memory reservation in the funclet's budget; a refill that does not fit the
 * budget waits for the next chance.
 */
import type { Logger } from '@faas/telemetry';
import type { BootSlots } from './boot-slots.js';
import { PoolPolicy } from './pool-policy.js';

/** What the pool needs of a sandbox (a fake in unit tests). */
export interface PoolMember {
  readonly id: string;
  readonly isGone: boolean;
  onGone(listener: () => void): void;
  destroy(): Promise<void>;
}

export interface SandboxPoolOptions<T extends PoolMember> {
  readonly runtimes: readonly string[];
  readonly baseSize: number;
  readonly maxSize: number;
  /** Per-runtime sizes overriding `baseSize` (the maximum is at least the size). */
  readonly sizes?: Readonly<Record<string, number>>;
  /** Shared with boots for requests; at most one pool boot at a time when absent. */
  readonly slots?: BootSlots;
  /**
   * How long after a take the refill starts: a boot forks the funclet and
   * takes CPU, which the taken sandbox's specialisation and first call
   * should not share.
   */
  readonly refillDelayMs?: number;
  /**
   * True while requests are being served sandboxes (a burst): refills wait
   * (at most `MAX_REFILL_DEFERRAL_MS`), since each boot's CPU would come out
   * of those requests' latency.
   */
  readonly deferRefill?: () => boolean;
  readonly decayAfterMs?: number;
  /** How often targets decay and refills are retried (memory may have come free). */
  readonly tickMs?: number;
  /** Boots one generic sandbox of a runtime. */
  readonly boot: (runtime: string) => Promise<T>;
  /** Reserves a pooled sandbox's memory; false when the budget has no room. */
  readonly reserve: () => boolean;
  /** Gives a reservation back (a pooled sandbox died or was dropped). */
  readonly unreserve: () => void;
  readonly log: Logger;
  readonly now?: () => number;
}

interface RuntimePool<T> {
  readonly policy: PoolPolicy;
  readonly ready: T[];
  booting: number;
  failuresInARow: number;
  retryAtMs: number;
}

const MAX_BACKOFF_MS = 5_000;
const MAX_REFILL_DEFERRAL_MS = 2_000;
const DEFERRED_REFILL_RETRY_MS = 20;

export class SandboxPool<T extends PoolMember> {
  private readonly pools = new Map<string, RuntimePool<T>>();
  private timer?: NodeJS.Timeout;
  private refillTimer?: NodeJS.Timeout;
  private deferredSinceMs?: number;
  /** Inside refill(): a slot it gives back calls it again through onRelease, which must not recurse. */
  private closed = false;
  private readonly boots = new Set<Promise<void>>();
  private bootsInFlight = 0;
  /** Pooled sandboxes whose memory reservation is still the pool's. */
  private readonly holdingReservation = new Set<T>();

  constructor(private readonly options: SandboxPoolOptions<T>) {
    for (const runtime of options.runtimes) {
      const baseSize = options.sizes?.[runtime] ?? options.baseSize;
      this.pools.set(runtime, {
        policy: new PoolPolicy({ baseSize, maxSize: Math.max(baseSize, options.maxSize), decayAfterMs: options.decayAfterMs }),
        ready: [],
        booting: 0,
        failuresInARow: 0,
        retryAtMs: 0,
      });
    }
    options.slots?.onRelease(() => this.refill());
  }

  /** Whether any runtime is pooled. */
  get enabled(): boolean {
    return [...this.pools.values()].some((pool) => pool.policy.enabled);
  }

  /** Starts filling every runtime's pool and the periodic decay/retry. */
  start(): void {
    if (!this.enabled) return;
    this.refill();
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  /** A ready generic sandbox of `runtime`, or undefined (the caller boots one itself). */
  take(runtime: string): T | undefined {
    const pool = this.pools.get(runtime);
    if (!pool || this.closed) return undefined;
    let taken: T | undefined;
    while (!taken && pool.ready.length > 0) {
      const candidate = pool.ready.shift()!;
      if (!candidate.isGone) taken = candidate;
    }
    pool.policy.recordTake(taken !== undefined, this.now());
    if (taken) this.holdingReservation.delete(taken);
    this.refillLater();
    return taken;
  }

  /**
   * Drops up to `count` ready sandboxes (any runtime, the largest pools
   * first) to give their memory to a function; returns how many went. Their
   * reservations are returned at once; the containers go in the background.
   */
  reclaim(count: number): number {
    let dropped = 0;
    while (dropped < count) {
      const largest = [...this.pools.values()].filter((pool) => pool.ready.length > 0).sort((a, b) => b.ready.length - a.ready.length)[0];
      if (!largest) break;
      const victim = largest.ready.shift()!;
      if (this.holdingReservation.delete(victim)) this.options.unreserve();
      void victim.destroy();
      dropped += 1;
    }
    return dropped;
  }

  /** Ready sandboxes, all runtimes. */
  get readyTotal(): number {
    let ready = 0;
    for (const pool of this.pools.values()) ready += pool.ready.length;
    return ready;
  }

  readyCount(runtime: string): number {
    return this.pools.get(runtime)?.ready.length ?? 0;
  }

  target(runtime: string): number {
    return this.pools.get(runtime)?.policy.target ?? 0;
  }

  /** Ready plus booting, all runtimes. */
  get size(): number {
    let size = 0;
    for (const pool of this.pools.values()) size += pool.ready.length + pool.booting;
    return size;
  }

  /** Stops refilling and destroys every pooled sandbox (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.refillTimer);
    await Promise.all([...this.boots]);
    const all = [...this.pools.values()].flatMap((pool) => pool.ready.splice(0));
    await Promise.all(all.map((member) => member.destroy()));
  }

  private tick(): void {
    for (const pool of this.pools.values()) {
      pool.policy.tick(this.now());
      // Too many for the target (after a decay): let the extras go.
      while (pool.ready.length > pool.policy.target) void pool.ready.pop()!.destroy();
    }
    this.refill();
  }

  /** Refills after the usual short delay (the manager calls it when a burst of requests is over). */
  refillLater(delayMs = this.options.refillDelayMs ?? 0): void {
    if (delayMs <= 0) {
      this.refill();
      return;
    }
    this.refillTimer ??= setTimeout(() => {
      this.refillTimer = undefined;
      this.refill();
    }, delayMs);
  }

  /**
   * Boots sandboxes for the runtimes furthest below their targets: one at a
   * time while every pool is at least half full, as many as the boot slots
   * allow while one is drained (and never ahead of a request waiting for a
   * slot).
   */
  private refill(): void {
    if (this.options.deferRefill?.() && !this.closed) {
      this.deferredSinceMs ??= this.now();
      if (this.now() - this.deferredSinceMs < MAX_REFILL_DEFERRAL_MS) {
        this.refillLater(DEFERRED_REFILL_RETRY_MS);
        return;
      }
    }
    this.deferredSinceMs = undefined;
    while (!this.closed) {
      const candidates = [...this.pools].filter(([, pool]) => pool.retryAtMs <= this.now() && pool.ready.length + pool.booting < pool.policy.target);
      if (candidates.length === 0) return;
      const [runtime, pool] = candidates.sort(([, a], [, b]) => deficit(b) - deficit(a))[0]!;
      const drained = pool.ready.length < pool.policy.target / 2;
      const slots = this.options.slots;
      const allowed = drained && slots ? slots.limit : 1;
      if (this.bootsInFlight >= allowed) return;
      // The memory first: giving a boot slot back wakes its listeners, this refill among them, which
      // would find the budget as full as before and go round again without end.
      if (!this.options.reserve()) return;
      if (slots && !slots.tryAcquire()) {
        this.options.unreserve();
        return;
      }
      pool.booting += 1;
      this.bootsInFlight += 1;
      const boot = this.bootOne(runtime, pool).finally(() => {
        this.boots.delete(boot);
        pool.booting -= 1;
        this.bootsInFlight -= 1;
        // Releasing the slot refills through onRelease when nobody waits for it.
        if (slots) slots.release();
        else this.refill();
      });
      this.boots.add(boot);
    }
  }

  private async bootOne(runtime: string, pool: RuntimePool<T>): Promise<void> {
    let member: T;
    const started = performance.now();
    try {
      member = await this.options.boot(runtime);
    } catch (error) {
      this.options.unreserve();
      pool.failuresInARow = Math.min(pool.failuresInARow + 1, 10);
      // Back off; the periodic tick retries once the time has come.
      pool.retryAtMs = this.now() + Math.min(MAX_BACKOFF_MS, 100 * 2 ** pool.failuresInARow);
      this.options.log.warn({ runtime, err: error, failuresInARow: pool.failuresInARow }, 'cannot boot a pool sandbox');
      return;
    }
    pool.failuresInARow = 0;
    this.holdingReservation.add(member);
    member.onGone(() => {
      // Died (or was dropped) while waiting: its reservation goes back. Once taken, it is the manager's.
      const index = pool.ready.indexOf(member);
      if (index >= 0) pool.ready.splice(index, 1);
      if (this.holdingReservation.delete(member)) this.options.unreserve();
    });
    if (this.closed || member.isGone) {
      await member.destroy();
      return;
    }
    pool.ready.push(member);
    this.options.log.info(
      { runtime, sandbox: member.id, bootMs: Math.round(performance.now() - started), ready: pool.ready.length, target: pool.policy.target },
      'pool sandbox ready',
    );
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function deficit(pool: RuntimePool<unknown>): number {
  return pool.policy.target - pool.ready.length - pool.booting;
}
