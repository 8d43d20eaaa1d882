import { describe, expect, it } from 'vitest';
import { backoffDelayMs, decideRetry } from './retry-policy.js';

describe('retry policy', () => {
  it('retries passing platform failures with doubling delays', () => {
    expect(decideRetry('service_unavailable', 1, 5)).toEqual({ retry: true, delayMs: 1_000 });
    expect(decideRetry('no_funclets', 2, 5)).toEqual({ retry: true, delayMs: 2_000 });
    expect(decideRetry('too_many_requests', 3, 5)).toEqual({ retry: true, delayMs: 4_000 });
    expect(decideRetry('sandbox_failed', 4, 5)).toEqual({ retry: true, delayMs: 8_000 });
  });

  it('gives up once the attempts are used', () => {
    expect(decideRetry('service_unavailable', 5, 5)).toEqual({ retry: false });
    expect(decideRetry('bad_gateway', 9, 5)).toEqual({ retry: false });
  });

  it('never retries failures that would repeat', () => {
    expect(decideRetry('function_not_found', 1, 5)).toEqual({ retry: false });
    expect(decideRetry('bad_request', 1, 5)).toEqual({ retry: false });
    expect(decideRetry('internal', 1, 5)).toEqual({ retry: false });
  });

  it('caps the delay', () => {
    expect(backoffDelayMs(30)).toBe(60_000);
    expect(backoffDelayMs(1_000, { baseMs: 10, capMs: 500 })).toBe(500);
    expect(backoffDelayMs(0)).toBe(1_000);
  });
});
