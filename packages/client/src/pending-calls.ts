import { PlatformError } from '@faas/errors';
import type { Cancellation } from './cancellation.js';

export interface CallTracking {
  /** Absolute deadline (ms since epoch); the caller gets deadline_exceeded past it. Infinity: none. */
  readonly deadlineMs: number;
  /** The caller gave up (its client went away). */
  readonly cancellation?: Cancellation;
  /**
   * Runs once when the call is over on the wire: its outcome arrived, or the
   * stream died. Later than the caller's answer when the caller gave up
   * first, because the handler may still be running (and holding its slot).
   */
  readonly onClosed?: () => void;
}

interface Pending<T> {
  resolve(outcome: T): void;
  reject(error: Error): void;
  /** Set once the caller has its answer (an outcome or a give-up). */
  answered: boolean;
  readonly tracking: CallTracking;
  stopListening?: () => void;
}

/**
 * How often deadlines are checked. A deadline here is a safety net (the
 * funclet times its calls out itself, the controller its queue), so one
 * sweep for all calls beats a timer armed and cleared for each of them.
 */
export const DEADLINE_SWEEP_MS = 100;

/**
 * The calls one stream has in flight, by the id the stream's messages
 * carry: allocates ids, answers each caller once (outcome, deadline, or
 * give-up), and tells the stream which ids to cancel on the wire.
 */
export class PendingCalls<T> {
  private readonly calls = new Map<number, Pending<T>>();
  /** Calls not yet answered that have a deadline. */
  private readonly timed = new Set<number>();
  private sweeper?: NodeJS.Timeout;
  private nextId = 1;

  /** @param cancel sends the cancellation of `id` to the peer */
  constructor(private readonly cancel: (id: number) => void) {}

  get size(): number {
    return this.calls.size;
  }

  /** Registers a call; `send(id)` puts it on the wire. Resolves with its outcome. */
  start(tracking: CallTracking, send: (id: number) => void): Promise<T> {
    if (tracking.cancellation?.cancelled) return Promise.reject(gaveUp());
    const id = this.allocateId();
    return new Promise<T>((resolve, reject) => {
      const pending: Pending<T> = { resolve, reject, answered: false, tracking };
      this.calls.set(id, pending);
      if (Number.isFinite(tracking.deadlineMs)) this.watchDeadline(id);
      if (tracking.cancellation) pending.stopListening = tracking.cancellation.onCancel(() => this.abandon(id, gaveUp()));
      try {
        send(id);
      } catch (error) {
        // Never reached the wire (the stream refused it): over at once.
        this.calls.delete(id);
        this.timed.delete(id);
        this.unhook(pending);
        reject(error as Error);
        tracking.onClosed?.();
      }
    });
  }

  /** The peer's outcome for `id`; outcomes of unknown ids (already failed streams) are ignored. */
  settle(id: number, outcome: T): void {
    const pending = this.calls.get(id);
    if (!pending) return;
    this.calls.delete(id);
    this.timed.delete(id);
    this.unhook(pending);
    if (!pending.answered) pending.resolve(outcome);
    pending.tracking.onClosed?.();
  }

  /** The stream is gone: every call still open fails with `error`. */
  failAll(error: Error): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    this.timed.clear();
    for (const pending of calls) {
      this.unhook(pending);
      if (!pending.answered) pending.reject(error);
      pending.tracking.onClosed?.();
    }
  }

  /** Answers the caller now; the call stays open on the wire until its outcome comes. */
  private abandon(id: number, error: Error): void {
    const pending = this.calls.get(id);
    if (!pending || pending.answered) return;
    pending.answered = true;
    this.timed.delete(id);
    this.unhook(pending);
    pending.reject(error);
    this.cancel(id);
  }

  private unhook(pending: Pending<T>): void {
    pending.stopListening?.();
    pending.stopListening = undefined;
  }

  private watchDeadline(id: number): void {
    this.timed.add(id);
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweepDeadlines(), DEADLINE_SWEEP_MS);
    this.sweeper.unref();
  }

  private sweepDeadlines(): void {
    const now = Date.now();
    for (const id of this.timed) {
      const pending = this.calls.get(id);
      if (!pending || pending.answered) this.timed.delete(id);
      else if (pending.tracking.deadlineMs <= now) this.abandon(id, new PlatformError('deadline_exceeded', "no answer within the call's deadline"));
    }
    if (this.timed.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private allocateId(): number {
    // uint32 on the wire; ids of calls still open are skipped after a wrap.
    do {
      this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    } while (this.calls.has(this.nextId));
    return this.nextId;
  }
}

function gaveUp(): PlatformError {
  return new PlatformError('deadline_exceeded', 'the caller gave up before the function finished');
}
