import { backoffCeilingMs } from './retry-policy.js';

/** How long to wait before trying a message again when Redis (or stubs) cannot be reached. */
export const STORE_RETRY_DELAY_MS = 2_000;
const STORE_RETRY_MAX_DELAY_MS = 30_000;

/**
 * Waits grow with each delivery so a long outage is not a busy loop. These
 * hand-backs cost the call no attempt: nothing ran.
 */
export function storeRetryDelayMs(deliveryCount: number): number {
  return backoffCeilingMs(deliveryCount, { baseMs: STORE_RETRY_DELAY_MS, capMs: STORE_RETRY_MAX_DELAY_MS });
}
