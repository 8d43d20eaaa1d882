/**
 * What tells a call that its caller gave up. Lighter than an AbortSignal,
 * which the edge would otherwise make for every request just to learn that
 * its client disconnected.
 */
export interface Cancellation {
  readonly cancelled: boolean;
  /** Calls `listener` once if the caller gives up; the returned function stops listening. */
  onCancel(listener: () => void): () => void;
}

/** An AbortSignal as a Cancellation. */
export function cancellationOf(signal: AbortSignal): Cancellation {
  return {
    get cancelled() {
      return signal.aborted;
    },
    onCancel(listener) {
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}
