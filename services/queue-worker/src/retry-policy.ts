import type { ErrorCode } from '@faas/errors';

/**
 * Platform failures that may pass on their own (capacity, a restarting
 * peer). Anything else (function_not_found, bad_request, ...) would fail
 * the same way again, so it is not retried. The list is docs/design.md's.
 */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'service_unavailable',
  'no_funclets',
  'too_many_requests',
  'deadline_exceeded',
  'bad_gateway',
  'sandbox_failed',
]);

export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE_CODES.has(code);
}

export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, capMs: 60_000 };

/** Delay before the attempt after `attempt` (1-based): base·2^(attempt-1), capped. */
export function backoffDelayMs(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(options.capMs, options.baseMs * 2 ** exponent);
}

export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false };

/** What to do after attempt number `attempt` failed with a platform error `code`. */
export function decideRetry(code: ErrorCode, attempt: number, maxAttempts: number, options?: BackoffOptions): RetryDecision {
  if (!isRetryable(code) || attempt >= maxAttempts) return { retry: false };
  return { retry: true, delayMs: backoffDelayMs(attempt, options) };
}
