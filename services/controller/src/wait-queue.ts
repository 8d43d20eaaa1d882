import { PlatformError } from '@faas/errors';

interface Waiter<K, V> {
  readonly key: K;
  readonly resolve: (value: V) => void;
  readonly reject: (error: Error) => void;
  readonly settle: () => void;
}

/**
 * A FIFO of callers waiting for something (a sandbox, a slot to create one),
 * each with a timeout. Values are handed over directly to a waiter so a
 * newcomer can never overtake the queue.
 */
export class WaitQueue<K, V> {
  private readonly waiters: Waiter<K, V>[] = [];

  get length(): number {
    return this.waiters.length;
  }

  /**
   * Waits until `grant` hands a value to this waiter; `timedOut()` when
   * `timeoutMs` passes (deadline_exceeded unless given), deadline_exceeded
   * when `signal` aborts first.
   */
  wait(key: K, timeoutMs: number, signal?: AbortSignal, timedOut?: () => Error): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const leave = (error: Error) => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        waiter.settle();
        reject(error);
      };
      const onTimeout = () => leave(timedOut?.() ?? new PlatformError('deadline_exceeded', `no sandbox became free within ${Math.round(timeoutMs)} ms`));
      const onAbort = () => leave(new PlatformError('deadline_exceeded', 'the caller gave up while waiting for a sandbox'));
      const timer = setTimeout(onTimeout, Math.max(0, timeoutMs));
      const waiter: Waiter<K, V> = {
        key,
        resolve,
        reject,
        settle: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Hands `value` to the longest-waiting caller whose key matches; false when none does. */
  grant(value: V, matches: (key: K) => boolean = () => true): boolean {
    const index = this.waiters.findIndex((waiter) => matches(waiter.key));
    if (index < 0) return false;
    const [waiter] = this.waiters.splice(index, 1);
    waiter!.settle();
    waiter!.resolve(value);
    return true;
  }

  /**
   * Walks the queue oldest first and hands each waiter what `decide` gives
   * it; a waiter `decide` cannot serve (undefined) keeps its place. Stops
   * at the first `undefined` when `stopAtFirstMiss` (no later waiter could be
   * served either). Returns how many were served.
   */
  offer(decide: (key: K) => V | undefined, stopAtFirstMiss = false): number {
    let served = 0;
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i]!;
      const value = decide(waiter.key);
      if (value === undefined) {
        if (stopAtFirstMiss) break;
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      waiter.settle();
      waiter.resolve(value);
      served++;
    }
    return served;
  }

  /** Fails every waiter, e.g. on shutdown. */
  failAll(error: Error): void {
    for (const waiter of this.waiters.splice(0)) {
      waiter.settle();
      waiter.reject(error);
    }
  }
}
