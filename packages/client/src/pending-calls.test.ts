import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { cancellationOf } from './cancellation.js';
import { DEADLINE_SWEEP_MS, PendingCalls } from './pending-calls.js';

const code = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: PlatformError) => error.code);

describe('PendingCalls', () => {
  it('answers each call with its own outcome, by id, whatever the order', async () => {
    const pending = new PendingCalls<string>(() => {});
    const sent: number[] = [];
    const first = pending.start({ deadlineMs: Infinity }, (id) => sent.push(id));
    const second = pending.start({ deadlineMs: Infinity }, (id) => sent.push(id));
    pending.settle(sent[1]!, 'two');
    pending.settle(sent[0]!, 'one');
    expect(await Promise.all([first, second])).toEqual(['one', 'two']);
    expect(pending.size).toBe(0);
  });

  it('answers a caller who gives up at once, cancels on the wire, and closes only when the outcome comes', async () => {
    const cancelled: number[] = [];
    const pending = new PendingCalls<string>((id) => cancelled.push(id));
    const abort = new AbortController();
    let closed = 0;
    let id = 0;
    const call = pending.start({ deadlineMs: Infinity, cancellation: cancellationOf(abort.signal), onClosed: () => closed++ }, (sent) => (id = sent));
    abort.abort();
    expect(await code(call)).toBe('deadline_exceeded');
    expect(cancelled).toEqual([id]);
    expect(closed).toBe(0);
    expect(pending.size).toBe(1);
    pending.settle(id, 'late');
    expect(closed).toBe(1);
    expect(pending.size).toBe(0);
  });

  it('answers deadline_exceeded once the deadline passes (checked every sweep)', async () => {
    const cancelled: number[] = [];
    const pending = new PendingCalls<string>((id) => cancelled.push(id));
    const started = Date.now();
    const answer = await code(pending.start({ deadlineMs: Date.now() + 20 }, () => {}));
    expect(answer).toBe('deadline_exceeded');
    expect(Date.now() - started).toBeLessThan(20 + 3 * DEADLINE_SWEEP_MS);
    expect(cancelled).toHaveLength(1);
  });

  it('fails everything open when the stream goes, the given-up calls closed too', async () => {
    const pending = new PendingCalls<string>(() => {});
    let closed = 0;
    const calls = [1, 2, 3].map(() => pending.start({ deadlineMs: Infinity, onClosed: () => closed++ }, () => {}));
    pending.failAll(new PlatformError('service_unavailable', 'gone'));
    expect(await Promise.all(calls.map(code))).toEqual(['service_unavailable', 'service_unavailable', 'service_unavailable']);
    expect(closed).toBe(3);
  });

  it('closes a call the stream refused to take, and never sends one already given up on', async () => {
    const pending = new PendingCalls<string>(() => {});
    let closed = 0;
    const refused = pending.start({ deadlineMs: Infinity, onClosed: () => closed++ }, () => {
      throw new PlatformError('too_many_requests', 'congested');
    });
    expect(await code(refused)).toBe('too_many_requests');
    expect(closed).toBe(1);
    const abort = new AbortController();
    abort.abort();
    let sent = false;
    expect(await code(pending.start({ deadlineMs: Infinity, cancellation: cancellationOf(abort.signal) }, () => (sent = true)))).toBe('deadline_exceeded');
    expect(sent).toBe(false);
    expect(pending.size).toBe(0);
  });

  it('ignores outcomes for ids it does not know', () => {
    const pending = new PendingCalls<string>(() => {});
    expect(() => pending.settle(12345, 'stray')).not.toThrow();
  });
});
