import { createHmac } from 'node:crypto';
import { ERROR_CATALOGUE, isErrorCode } from '@faas/errors';
import { CallStatus, type CallRecord } from '@faas/protocol';

/** Sent with every callback; names as OpenFaaS's queue-worker sends them, plus our own. */
export const CALLBACK_HEADERS = {
  callId: 'X-Call-Id',
  functionName: 'X-Function-Name',
  functionStatus: 'X-Function-Status',
  durationSeconds: 'X-Duration-Seconds',
  callStatus: 'X-Call-Status',
  attempts: 'X-Call-Attempts',
  timestamp: 'X-Faas-Timestamp',
  signature: 'X-Faas-Signature',
} as const;

const STATUS_NAMES: Partial<Record<CallStatus, string>> = {
  [CallStatus.SUCCEEDED]: 'succeeded',
  [CallStatus.FAILED]: 'failed',
  [CallStatus.DEAD_LETTERED]: 'dead-lettered',
};

export interface CallbackRequest {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * What a finished call's callback carries: the result (or the error as
 * JSON) as the body, the call's identity and outcome in headers, and, when
 * the function has a callback secret, `X-Faas-Signature: sha256=<hex>`, the
 * HMAC-SHA256 of `<X-Faas-Timestamp>.<body>` (the timestamp in the signed
 * text lets a receiver refuse replays of an old callback).
 */
export function callbackRequest(record: CallRecord, secret: string, nowMs: number): CallbackRequest {
  const response = httpResponseOf(record);
  const body = response?.body ?? bodyOf(record);
  const headers: Record<string, string> = {
    'content-type': response?.contentType ?? 'application/json',
    [CALLBACK_HEADERS.callId]: record.callId,
    [CALLBACK_HEADERS.functionName]: record.functionName,
    [CALLBACK_HEADERS.functionStatus]: String(response?.status ?? functionStatus(record)),
    [CALLBACK_HEADERS.durationSeconds]: record.durationSeconds.toFixed(6),
    [CALLBACK_HEADERS.callStatus]: STATUS_NAMES[record.status] ?? 'unknown',
    [CALLBACK_HEADERS.attempts]: String(record.attempts),
  };
  if (secret) {
    const timestamp = String(nowMs);
    headers[CALLBACK_HEADERS.timestamp] = timestamp;
    headers[CALLBACK_HEADERS.signature] = `sha256=${signCallback(secret, timestamp, body)}`;
  }
  return { headers, body };
}

export function signCallback(secret: string, timestamp: string, body: Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The HTTP status the function's call amounts to, as OpenFaaS reports it. */
function functionStatus(record: CallRecord): number {
  if (record.status === CallStatus.SUCCEEDED) return 200;
  if (record.functionError) return record.functionError.type === 'Timeout' ? 504 : 500;
  return isErrorCode(record.errorCode) ? ERROR_CATALOGUE[record.errorCode].http : 500;
}

/** A succeeded HTTP call's own response (status, content type, raw body) out of its handler-shaped record. */
function httpResponseOf(record: CallRecord): { status: number; contentType: string; body: Buffer } | undefined {
  if (!record.httpResult || record.status !== CallStatus.SUCCEEDED) return undefined;
  try {
    const shaped = JSON.parse(Buffer.from(record.result).toString('utf8')) as { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean };
    const contentType = Object.entries(shaped.headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? 'application/octet-stream';
    return { status: shaped.statusCode, contentType, body: Buffer.from(shaped.body, shaped.isBase64Encoded ? 'base64' : 'utf8') };
  } catch {
    // Not the shape the queue-worker writes: send the record's JSON as it is.
    return undefined;
  }
}

function bodyOf(record: CallRecord): Buffer {
  if (record.status === CallStatus.SUCCEEDED) {
    return record.result.byteLength > 0 ? Buffer.from(record.result) : Buffer.from('null');
  }
  if (record.functionError) return Buffer.from(JSON.stringify({ errorType: record.functionError.type || 'Error', errorMessage: record.functionError.message }));
  return Buffer.from(JSON.stringify({ code: record.errorCode || 'internal', message: record.errorMessage }));
}
