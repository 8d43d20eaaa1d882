/**
 * Slows down guessing: an address that sent too many bad credentials within
 * a window is refused (429, too_many_auth_failures) until the window ends,
 * without its tokens being looked at. Calls without credentials (public
 * functions) are never counted or refused here.
 */
export interface FailureThrottleOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly now?: () => number;
  /** Addresses remembered at most; the oldest windows are forgotten first. */
  readonly maxAddresses?: number;
}

interface Window {
  startedAt: number;
  failures: number;
}

export class FailureThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private readonly maxAddresses: number;

  constructor(private readonly options: FailureThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.maxAddresses = options.maxAddresses ?? 10_000;
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  blockedForMs(address: string): number {
    const window = this.current(address);
    if (!window || window.failures < this.options.maxFailures) return 0;
    return window.startedAt + this.options.windowMs - this.now();
  }

  recordFailure(address: string): void {
    let window = this.current(address);
    if (!window) {
      if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(address, (window = { startedAt: this.now(), failures: 0 }));
    }
    window.failures++;
  }

  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    if (window && this.now() - window.startedAt >= this.options.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }
}
