import type { ErrorCode } from '@faas/errors';
import type { FunctionError } from '@faas/protocol';

/**
 * Platform failures that may pass on their own (capacity, a restarting
 * peer). Anything else (function_not_found, bad_request, ...) would fail
 * the same way again, so it is not retried. The list is docs/design.md's.
 */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'service_unavailable',
  'no_funclets',
  'too_many_requests',
  'sandbox_busy',
  'deadline_exceeded',
  'bad_gateway',
  'sandbox_failed',
]);

/**
 * "Come back later" answers: they slow the worker down instead of using an
 * attempt. A platform piece being down (no funclet alive, a service away
 * while it restarts) is one too: the call did nothing wrong, and spending
 * its attempts on the outage would dead-letter every call queued during it.
 */
const THROTTLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['too_many_requests', 'sandbox_busy', 'no_funclets', 'service_unavailable']);

/**
 * A call that is throttled this often starts paying attempts for its 429s,
 * so a function that answers 429 forever still ends in the dead letters.
 */
export const FREE_THROTTLES = 50;
/** A Retry-After beyond this is taken as this: one call must not sleep for days on a header. */
export const RETRY_AFTER_CAP_MS = 3_600_000;
/** The function's own error the platform assigns when it ran out of time: always worth another try. */
const TIMEOUT_ERROR = 'Timeout';

export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE_CODES.has(code);
}

/** One function's retry settings, defaults filled in. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly retryFunctionErrors: boolean;
}

export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
}

/** The longest wait before the attempt after `attempt` (1-based): base·2^(attempt-1), capped. */
export function backoffCeilingMs(attempt: number, options: BackoffOptions): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 40));
  return Math.min(options.capMs, options.baseMs * 2 ** exponent);
}

/**
 * "Full jitter": a delay drawn uniformly from [0, ceiling]. Retries of calls
 * that failed together (a funclet restart) spread out instead of returning
 * as a herd.
 */
export function fullJitterDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  return Math.floor(random() * (backoffCeilingMs(attempt, options) + 1));
}

/** Why one attempt did not succeed. */
export type AttemptFailure =
  | { readonly kind: 'platform'; readonly code: ErrorCode; readonly message: string; readonly retryAfterMs?: number }
  | { readonly kind: 'function'; readonly error: FunctionError }
  /** An HTTP call the function answered 429 or 503. */
  | { readonly kind: 'http'; readonly status: number; readonly retryAfterMs?: number };

export type Verdict =
  /** Try again after `delayMs`; a throttle (429) does not use an attempt. */
  | { readonly action: 'retry'; readonly delayMs: number; readonly costsAttempt: boolean }
  /** Retryable, but the attempts are used up. */
  | { readonly action: 'dead-letter' }
  /** Would fail the same way again. */
  | { readonly action: 'fail' };

/**
 * What to do after attempt `attempt` failed. `throttles`: the 429s this call
 * met so far. Never retries what cannot pass; honours Retry-After when it
 * asks for a longer wait than the backoff drew.
 */
export function judgeFailure(
  failure: AttemptFailure,
  attempt: number,
  throttles: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Verdict {
  const throttled = isThrottle(failure) && throttles < FREE_THROTTLES;
  if (!throttled && !isRetryableFailure(failure, policy)) return { action: 'fail' };
  if (!throttled && attempt >= policy.maxAttempts) return { action: 'dead-letter' };
  const backoff = { baseMs: policy.baseDelayMs, capMs: policy.maxDelayMs };
  const drawn = fullJitterDelayMs(throttled ? throttles + 1 : attempt, backoff, random);
  const retryAfterMs = failure.kind === 'function' ? undefined : failure.retryAfterMs;
  const delayMs = retryAfterMs === undefined ? drawn : Math.max(drawn, Math.min(retryAfterMs, RETRY_AFTER_CAP_MS));
  return { action: 'retry', delayMs, costsAttempt: !throttled };
}

function isThrottle(failure: AttemptFailure): boolean {
  if (failure.kind === 'platform') return THROTTLE_CODES.has(failure.code);
  return failure.kind === 'http' && failure.status === 429;
}

function isRetryableFailure(failure: AttemptFailure, policy: RetryPolicy): boolean {
  switch (failure.kind) {
    case 'platform':
      return isRetryable(failure.code);
    case 'http':
      return failure.status === 429 || failure.status === 503;
    case 'function':
      return failure.error.type === TIMEOUT_ERROR || policy.retryFunctionErrors;
  }
}

/**
 * Retry-After as RFC 9110 has it: delay-seconds or an HTTP date. Undefined
 * when absent or unreadable (then the backoff alone decides).
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
