import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, fullJitterDelayMs, judgeFailure, parseRetryAfter, type RetryPolicy } from './retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 10_000, retryFunctionErrors: false };
const top = () => 0.999_999;
const bottom = () => 0;
const platform = (code: 'bad_gateway' | 'no_funclets' | 'service_unavailable' | 'too_many_requests' | 'function_not_found', retryAfterMs?: number) =>
  ({ kind: 'platform', code, message: code, retryAfterMs }) as const;

describe('backoff with full jitter', () => {
  it('doubles the ceiling per attempt up to the cap, and draws from zero to it', () => {
    const options = { baseMs: 1_000, capMs: 10_000 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffCeilingMs(attempt, options))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000]);
    expect(fullJitterDelayMs(3, options, bottom)).toBe(0);
    expect(fullJitterDelayMs(3, options, top)).toBe(4_000);
    expect(fullJitterDelayMs(3, options, () => 0.5)).toBe(2_000);
  });
});

describe('judgeFailure', () => {
  it('retries passing platform failures, then dead-letters on the last attempt', () => {
    expect(judgeFailure(platform('bad_gateway'), 1, 0, policy, top)).toEqual({ action: 'retry', delayMs: 1_000, costsAttempt: true });
    expect(judgeFailure(platform('bad_gateway'), 2, 0, policy, top)).toEqual({ action: 'retry', delayMs: 2_000, costsAttempt: true });
    expect(judgeFailure(platform('bad_gateway'), 3, 0, policy, top)).toEqual({ action: 'dead-letter' });
  });

  it('fails at once what would fail again', () => {
    expect(judgeFailure(platform('function_not_found'), 1, 0, policy)).toEqual({ action: 'fail' });
    expect(judgeFailure({ kind: 'function', error: { $typeName: 'faas.v1.FunctionError', type: 'TypeError', message: '', stack: '' } }, 1, 0, policy)).toEqual({ action: 'fail' });
  });

  it('retries Timeout always and other function errors only when the function asks', () => {
    const error = (type: string) => ({ kind: 'function', error: { $typeName: 'faas.v1.FunctionError', type, message: '', stack: '' } }) as const;
    expect(judgeFailure(error('Timeout'), 1, 0, policy, top)).toMatchObject({ action: 'retry', costsAttempt: true });
    expect(judgeFailure(error('Error'), 1, 0, { ...policy, retryFunctionErrors: true }, top)).toMatchObject({ action: 'retry' });
    expect(judgeFailure(error('Error'), 3, 0, { ...policy, retryFunctionErrors: true })).toEqual({ action: 'dead-letter' });
  });

  it('waits out a 429 without using an attempt, even on the last one, until the free throttles are spent', () => {
    expect(judgeFailure(platform('too_many_requests'), 3, 0, policy, top)).toEqual({ action: 'retry', delayMs: 1_000, costsAttempt: false });
    expect(judgeFailure({ kind: 'http', status: 429 }, 3, 2, policy, top)).toEqual({ action: 'retry', delayMs: 4_000, costsAttempt: false });
    expect(judgeFailure(platform('too_many_requests'), 3, 50, policy, top)).toEqual({ action: 'dead-letter' });
  });

  it('waits out an outage of the platform (no funclet alive, a service away) the same way', () => {
    expect(judgeFailure(platform('no_funclets'), 3, 0, policy, top)).toEqual({ action: 'retry', delayMs: 1_000, costsAttempt: false });
    expect(judgeFailure(platform('service_unavailable'), 3, 1, policy, top)).toEqual({ action: 'retry', delayMs: 2_000, costsAttempt: false });
    expect(judgeFailure(platform('no_funclets'), 3, 50, policy, top)).toEqual({ action: 'dead-letter' });
  });

  it('honours Retry-After when it asks for longer than the backoff drew', () => {
    expect(judgeFailure({ kind: 'http', status: 503, retryAfterMs: 7_000 }, 1, 0, policy, top)).toEqual({ action: 'retry', delayMs: 7_000, costsAttempt: true });
    expect(judgeFailure(platform('bad_gateway', 200), 2, 0, policy, top)).toMatchObject({ delayMs: 2_000 });
    expect(judgeFailure({ kind: 'http', status: 429, retryAfterMs: 10 * 86_400_000 }, 1, 0, policy, bottom)).toMatchObject({ delayMs: 3_600_000 });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
