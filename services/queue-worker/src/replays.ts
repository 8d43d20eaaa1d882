import { PlatformError } from '@faas/errors';
import { CallStatus, create, AsyncInvocationSchema, type AsyncInvocation, type CallRecord } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import { replayedRecord } from './call-records.js';
import type { CallStore } from './call-store.js';
import type { DeadLetterStore } from './dead-letters.js';

export interface ReplayDeps {
  readonly store: Pick<CallStore, 'get' | 'put'>;
  readonly deadLetters: Pick<DeadLetterStore, 'find' | 'remove'>;
  readonly publish: (request: AsyncInvocation, msgId: string) => Promise<void>;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * Queues a dead-lettered call again under its own call id with fresh
 * attempts. The record is set to `queued` (with the replay's number) before
 * the message is published, so the worker that picks it up finds a call to
 * run rather than one that already ended; a replay whose publish fails puts
 * the record back.
 */
export async function replayDeadLetter(callId: string, deps: ReplayDeps): Promise<CallRecord> {
  const now = deps.now ?? Date.now;
  const record = await deps.store.get(callId);
  if (!record || record.status !== CallStatus.DEAD_LETTERED) throw notFound(callId);
  const found = await deps.deadLetters.find(record.functionName, callId);
  if (!found?.deadLetter.request?.invocation) throw notFound(callId);

  const replay = record.replays + 1;
  const queued = replayedRecord(record, replay, now());
  await deps.store.put(queued);
  const request = create(AsyncInvocationSchema, { ...found.deadLetter.request, replay, queuedAtMs: queued.queuedAtMs });
  try {
    await deps.publish(request, `${callId}:replay:${replay}`);
  } catch (error) {
    await deps.store.put(record).catch((restoreError) => deps.logger.error({ err: restoreError, callId }, 'cannot restore a dead-lettered record after a failed replay'));
    throw new PlatformError('service_unavailable', `cannot queue the replay: ${(error as Error).message}`, { cause: error });
  }
  // Once queued, the dead letter has done its job; a failure here only leaves a stale entry, which the record's status already disowns.
  await deps.deadLetters.remove(found.sequence).catch((error) => deps.logger.warn({ err: error, callId }, 'cannot remove a replayed dead letter'));
  return queued;
}

function notFound(callId: string): PlatformError {
  return new PlatformError('dead_letter_not_found', `no dead-lettered call "${callId}" (never dead-lettered, already replayed, or expired)`);
}
