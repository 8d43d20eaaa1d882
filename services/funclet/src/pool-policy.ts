/**
 * How many generic sandboxes to keep ready for one runtime. Starts at the
 * configured size; every take that finds the pool empty raises the target by
 * one (up to the maximum), since demand outran it; after a quiet spell with
 * no miss the target decays by one step back toward the configured size, so
 * a burst does not pin memory forever. A configured size of 0 disables the
 * pool for good.
 */
export interface PoolPolicyOptions {
  readonly baseSize: number;
  readonly maxSize: number;
  /** A miss less than this long after the previous one raises the target by one more. */
  readonly decayAfterMs?: number;
}

export const DEFAULT_DECAY_AFTER_MS = 30_000;

export class PoolPolicy {
  private currentTarget: number;
  private lastChangeAtMs = 0;

  constructor(private readonly options: PoolPolicyOptions) {
    this.currentTarget = options.baseSize;
  }

  get target(): number {
    return this.currentTarget;
  }

  get enabled(): boolean {
    return this.options.baseSize > 0;
  }

  /** A take found `hit` (a ready sandbox) or a miss at `nowMs`. */
  recordTake(hit: boolean, nowMs: number): void {
    if (!this.enabled || hit) return;
    if (this.currentTarget < this.options.maxSize) this.currentTarget += 1;
    this.lastChangeAtMs = nowMs;
  }

  /** Called periodically: steps back toward the base size after a quiet spell. */
  tick(nowMs: number): void {
    if (this.currentTarget <= this.options.baseSize) return;
    if (nowMs - this.lastChangeAtMs < (this.options.decayAfterMs ?? DEFAULT_DECAY_AFTER_MS)) return;
    this.currentTarget -= 1;
    this.lastChangeAtMs = nowMs;
  }
}
