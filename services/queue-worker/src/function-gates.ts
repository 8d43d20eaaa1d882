/**
 * Back-pressure per function inside one worker: at most the function's own
 * max_concurrency calls at once, and fewer after it answered 429 (halved on
 * every 429, grown back by one per success), with new calls held back while
 * the 429's wait runs. A call refused here is handed back to JetStream with
 * a delay and uses no attempt.
 */
export class FunctionGates {
  private readonly states = new Map<string, { inFlight: number; limit: number; pausedUntilMs: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A slot for one call, or how long to wait before asking again. */
  tryEnter(functionName: string, maxConcurrency: number): { readonly entered: true } | { readonly entered: false; readonly retryInMs: number } {
    const state = this.stateOf(functionName, maxConcurrency);
    const now = this.now();
    if (now < state.pausedUntilMs) return { entered: false, retryInMs: state.pausedUntilMs - now };
    if (state.inFlight >= Math.min(Math.floor(state.limit), maxConcurrency)) return { entered: false, retryInMs: 0 };
    state.inFlight++;
    return { entered: true };
  }

  /** The call ended; `outcome` says whether the function (or the platform for it) asked us to slow down. */
  leave(functionName: string, maxConcurrency: number, outcome: 'ok' | 'throttled', pauseMs = 0): void {
    const state = this.stateOf(functionName, maxConcurrency);
    state.inFlight = Math.max(0, state.inFlight - 1);
    if (outcome === 'throttled') {
      state.limit = Math.max(1, Math.floor(Math.min(state.limit, maxConcurrency) / 2));
      state.pausedUntilMs = Math.max(state.pausedUntilMs, this.now() + pauseMs);
    } else {
      state.limit = Math.min(maxConcurrency, state.limit + 1);
    }
    if (state.inFlight === 0 && state.limit >= maxConcurrency && this.now() >= state.pausedUntilMs) this.states.delete(functionName);
  }

  /** Calls of `functionName` this worker lets run at once now. */
  limitOf(functionName: string, maxConcurrency: number): number {
    return Math.min(Math.floor(this.states.get(functionName)?.limit ?? maxConcurrency), maxConcurrency);
  }

  private stateOf(functionName: string, maxConcurrency: number) {
    let state = this.states.get(functionName);
    if (!state) {
      state = { inFlight: 0, limit: maxConcurrency, pausedUntilMs: 0 };
      this.states.set(functionName, state);
    }
    return state;
  }
}
