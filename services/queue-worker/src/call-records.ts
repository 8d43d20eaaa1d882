import { isUtf8 } from 'node:buffer';
import type { ErrorCode } from '@faas/errors';
import { CallRecordSchema, CallStatus, create, type CallRecord, type HttpResponse, type InvocationResult } from '@faas/protocol';

/** Pure builders of the records a call passes through: queued → running → succeeded | failed. */

export interface CallIdentity {
  readonly callId: string;
  readonly functionName: string;
  readonly queuedAtMs: number;
}

export function queuedRecord(call: CallIdentity): CallRecord {
  return create(CallRecordSchema, {
    callId: call.callId,
    functionName: call.functionName,
    status: CallStatus.QUEUED,
    queuedAtMs: BigInt(call.queuedAtMs),
  });
}

export function runningRecord(call: CallIdentity, attempt: number, nowMs: number): CallRecord {
  return create(CallRecordSchema, {
    callId: call.callId,
    functionName: call.functionName,
    status: CallStatus.RUNNING,
    attempts: attempt,
    queuedAtMs: BigInt(call.queuedAtMs),
    startedAtMs: BigInt(nowMs),
  });
}

/** The outcome of a run that reached the function: its result or its own error. */
export function finishedRecord(running: CallRecord, result: InvocationResult, nowMs: number): CallRecord {
  const failed = result.functionError !== undefined;
  return create(CallRecordSchema, {
    ...withoutOutcome(running),
    status: failed ? CallStatus.FAILED : CallStatus.SUCCEEDED,
    result: failed ? new Uint8Array() : result.httpResponse ? httpResponseJson(result.httpResponse) : result.result,
    functionError: result.functionError,
    finishedAtMs: BigInt(nowMs),
    durationSeconds: result.durationSeconds,
  });
}

/** The platform failed: for good (`final`), or the call waits for another attempt. */
export function platformFailureRecord(running: CallRecord, code: ErrorCode, message: string, final: boolean, nowMs: number): CallRecord {
  return create(CallRecordSchema, {
    ...withoutOutcome(running),
    status: final ? CallStatus.FAILED : CallStatus.QUEUED,
    errorCode: code,
    errorMessage: message,
    finishedAtMs: final ? BigInt(nowMs) : 0n,
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
  return record?.status === CallStatus.SUCCEEDED || record?.status === CallStatus.FAILED;
}

function withoutOutcome(record: CallRecord) {
  return {
    callId: record.callId,
    functionName: record.functionName,
    attempts: record.attempts,
    queuedAtMs: record.queuedAtMs,
    startedAtMs: record.startedAtMs,
  };
}
