import { isUtf8 } from 'node:buffer';
import {
  AttemptErrorSchema,
  CallRecordSchema,
  CallStatus,
  CallbackStatus,
  create,
  type AttemptError,
  type CallRecord,
  type HttpResponse,
  type InvocationResult,
} from '@faas/protocol';
import type { AttemptFailure } from './retry-policy.js';

/** Pure builders of the records a call passes through: queued → running → succeeded | failed | dead-lettered. */

export interface CallIdentity {
  readonly callId: string;
  readonly functionName: string;
  readonly queuedAtMs: number;
  readonly source?: string;
  readonly replay?: number;
  readonly callbackUrl?: string;
}

export function queuedRecord(call: CallIdentity): CallRecord {
  return create(CallRecordSchema, {
    callId: call.callId,
    functionName: call.functionName,
    status: CallStatus.QUEUED,
    queuedAtMs: BigInt(call.queuedAtMs),
    source: call.source ?? '',
    replays: call.replay ?? 0,
  });
}

/** Attempt `attempt` starts; what earlier attempts learnt (errors, throttles) is kept. */
export function runningRecord(previous: CallRecord | undefined, call: CallIdentity, attempt: number, nowMs: number): CallRecord {
  const base = previous ?? queuedRecord(call);
  return create(CallRecordSchema, {
    ...history(base),
    callId: call.callId,
    functionName: call.functionName,
    status: CallStatus.RUNNING,
    attempts: attempt,
    queuedAtMs: base.queuedAtMs > 0n ? base.queuedAtMs : BigInt(call.queuedAtMs),
    source: base.source || (call.source ?? ''),
    replays: call.replay ?? base.replays,
    startedAtMs: BigInt(nowMs),
    firstStartedAtMs: base.firstStartedAtMs > 0n && base.status !== CallStatus.DEAD_LETTERED ? base.firstStartedAtMs : BigInt(nowMs),
  });
}

/** The outcome of a run that reached the function: its result or its own error. */
export function finishedRecord(running: CallRecord, result: InvocationResult, nowMs: number, callbackUrl = ''): CallRecord {
  const failed = result.functionError !== undefined;
  return create(CallRecordSchema, {
    ...history(running),
    ...identity(running),
    status: failed ? CallStatus.FAILED : CallStatus.SUCCEEDED,
    result: failed ? new Uint8Array() : result.httpResponse ? httpResponseJson(result.httpResponse) : result.result,
    httpResult: !failed && result.httpResponse !== undefined,
    functionError: result.functionError,
    finishedAtMs: BigInt(nowMs),
    durationSeconds: result.durationSeconds,
    callback: pendingCallback(callbackUrl),
  });
}

/** The attempt failed and another will follow: the call waits, `queued`, with the last error shown. */
export function retryRecord(running: CallRecord, failure: AttemptFailure, costsAttempt: boolean, nowMs: number): CallRecord {
  const error = attemptError(running.attempts, failure, nowMs);
  return create(CallRecordSchema, {
    ...history(running),
    ...identity(running),
    status: CallStatus.QUEUED,
    // A 429 gives its attempt back: the next run carries the same number.
    attempts: costsAttempt ? running.attempts : running.attempts - 1,
    throttles: running.throttles + (costsAttempt ? 0 : 1),
    attemptErrors: [...running.attemptErrors, error],
    ...lastError(failure),
  });
}

/** No more attempts: `failed` (would fail again) or `dead-lettered` (attempts used up). */
export function finalFailureRecord(running: CallRecord, failure: AttemptFailure, status: CallStatus.FAILED | CallStatus.DEAD_LETTERED, nowMs: number, callbackUrl = ''): CallRecord {
  return create(CallRecordSchema, {
    ...history(running),
    ...identity(running),
    status,
    attemptErrors: [...running.attemptErrors, attemptError(running.attempts, failure, nowMs)],
    ...lastError(failure),
    finishedAtMs: BigInt(nowMs),
    durationSeconds: running.startedAtMs > 0n ? (nowMs - Number(running.startedAtMs)) / 1_000 : 0,
    callback: pendingCallback(callbackUrl),
  });
}

/** Queued again from the dead letters: fresh attempts, the history kept. */
export function replayedRecord(deadLettered: CallRecord, replay: number, nowMs: number): CallRecord {
  return create(CallRecordSchema, {
    ...history(deadLettered),
    callId: deadLettered.callId,
    functionName: deadLettered.functionName,
    source: deadLettered.source,
    status: CallStatus.QUEUED,
    queuedAtMs: BigInt(nowMs),
    replays: replay,
    throttles: 0,
  });
}

export function attemptError(attempt: number, failure: AttemptFailure, nowMs: number): AttemptError {
  return create(AttemptErrorSchema, {
    attempt,
    atMs: BigInt(nowMs),
    errorCode: failure.kind === 'platform' ? failure.code : '',
    errorMessage: failure.kind === 'platform' ? failure.message : failure.kind === 'http' ? `the function answered HTTP ${failure.status}` : '',
    functionError: failure.kind === 'function' ? failure.error : undefined,
    httpStatus: failure.kind === 'http' ? failure.status : 0,
  });
}

/**
 * A queued HTTP call's answer as a JSON result, in the shape a handler
 * returns it (`{statusCode, headers, body, isBase64Encoded}`): the record
 * keeps one JSON result whatever the call's kind.
 */
export function httpResponseJson(response: HttpResponse): Uint8Array {
  const headers: Record<string, string> = {};
  for (const { name, value } of response.headers) headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  const body = Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  const text = isUtf8(body);
  const shaped = { statusCode: response.status, headers, body: body.toString(text ? 'utf8' : 'base64'), isBase64Encoded: !text };
  return Buffer.from(JSON.stringify(shaped), 'utf8');
}

export function isTerminal(record: CallRecord | undefined): boolean {
  return record?.status === CallStatus.SUCCEEDED || record?.status === CallStatus.FAILED || record?.status === CallStatus.DEAD_LETTERED;
}

function pendingCallback(url: string) {
  return url ? { url, status: CallbackStatus.PENDING } : undefined;
}

function lastError(failure: AttemptFailure) {
  if (failure.kind === 'function') return { functionError: failure.error, errorCode: '', errorMessage: '' };
  if (failure.kind === 'http') return { errorCode: 'bad_gateway', errorMessage: `the function answered HTTP ${failure.status}` };
  return { errorCode: failure.code, errorMessage: failure.message };
}

function identity(record: CallRecord) {
  return {
    callId: record.callId,
    functionName: record.functionName,
    attempts: record.attempts,
    queuedAtMs: record.queuedAtMs,
    startedAtMs: record.startedAtMs,
    firstStartedAtMs: record.firstStartedAtMs,
    source: record.source,
    replays: record.replays,
  };
}

/** What outlives each attempt. */
function history(record: CallRecord) {
  return { attemptErrors: record.attemptErrors, throttles: record.throttles };
}
