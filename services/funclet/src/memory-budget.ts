/**
 * The funclet's memory, shared by sandboxes serving functions and generic
 * sandboxes waiting in the pool. Functions always win: a function's sandbox
 * fits when the functions' memory fits, and pool sandboxes are dropped to
 * make way. Only the functions' share is reported to the controller; the
 * pool's is there for the taking.
 */
import { PlatformError } from '@faas/errors';

export interface MemoryBudgetOptions {
  readonly funcletId: string;
  readonly totalMb: number;
  /** What one waiting pool sandbox holds. */
  readonly poolSandboxMb: number;
  /** Most memory all waiting pool sandboxes together may hold (default: no bound but the total). */
  readonly poolBudgetMb?: number;
  /** Drops this many waiting pool sandboxes (they give their memory back through `unreservePoolSandbox`). */
  readonly reclaimPool: (count: number) => void;
}

export class MemoryBudget {
  private functionMb = 0;
  private poolMb = 0;

  constructor(private readonly options: MemoryBudgetOptions) {}

  get totalMb(): number {
    return this.options.totalMb;
  }

  /** Memory given to functions. */
  get usedMb(): number {
    return this.functionMb;
  }

  /** Throws too_many_requests when `memoryMb` more for functions would not fit. */
  ensureFits(memoryMb: number): void {
    if (this.functionMb + memoryMb <= this.options.totalMb) return;
    const free = this.options.totalMb - this.functionMb;
    throw new PlatformError('too_many_requests', `funclet ${this.options.funcletId} has ${free} MB free, ${memoryMb} MB asked`);
  }

  /**
   * Holds `memoryMb` for a function's sandbox (after `ensureFits`), dropping
   * pool sandboxes when the whole budget is short. Returns the release,
   * which is safe to call more than once.
   */
  holdForFunction(memoryMb: number): () => void {
    const shortBy = this.functionMb + this.poolMb + memoryMb - this.options.totalMb;
    if (shortBy > 0) this.options.reclaimPool(Math.ceil(shortBy / this.options.poolSandboxMb));
    this.functionMb += memoryMb;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.functionMb -= memoryMb;
    };
  }

  /** A pool sandbox's reservation; false when it does not fit. */
  reservePoolSandbox(): boolean {
    if (this.functionMb + this.poolMb + this.options.poolSandboxMb > this.options.totalMb) return false;
    if (this.poolMb + this.options.poolSandboxMb > (this.options.poolBudgetMb ?? Infinity)) return false;
    this.poolMb += this.options.poolSandboxMb;
    return true;
  }

  /** A pool sandbox left the pool (taken for a function, died, dropped): its reservation ends. */
  unreservePoolSandbox(): void {
    this.poolMb -= this.options.poolSandboxMb;
  }
}
