import { LeaseSchema, create, type Lease } from '@faas/protocol';
import type { LeaseRecord } from './books.js';

/** A lease as its holder gets it: where to send calls, how many at once, for how long. */
export function leaseMessage(lease: LeaseRecord, ttlMs: number): Lease {
  const { sandbox } = lease;
  return create(LeaseSchema, {
    leaseId: lease.id,
    functionName: sandbox.functionName,
    functionVersion: sandbox.version,
    funcletId: sandbox.funclet.id,
    funcletAddress: sandbox.funclet.address,
    sandboxId: sandbox.id,
    slots: lease.slots,
    ttlMs,
    timeoutMs: sandbox.timeoutMs,
  });
}
