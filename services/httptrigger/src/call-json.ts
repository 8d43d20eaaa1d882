import { CallStatus, CallbackStatus, type AttemptError, type CallRecord, type CallbackDelivery, type DeadLetter } from '@faas/protocol';

export type CallStatusName = 'queued' | 'running' | 'succeeded' | 'failed' | 'dead-lettered';

type ErrorJson = { errorType: string; errorMessage: string } | { code: string; message: string } | { httpStatus: number };

/** An asynchronous call as GET /v1/calls/{callId} shows it. */
export interface CallJson {
  readonly callId: string;
  readonly functionName: string;
  readonly status: CallStatusName;
  readonly result?: unknown;
  readonly error?: ErrorJson;
  readonly attempts: number;
  /** 429s waited out; they cost no attempt. */
  readonly throttles: number;
  readonly replays: number;
  readonly source: string;
  readonly queuedAt: string | null;
  readonly startedAt: string | null;
  readonly firstStartedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationSeconds: number | null;
  readonly attemptErrors: readonly { attempt: number; at: string | null; error: ErrorJson }[];
  readonly callback?: {
    url: string;
    status: 'pending' | 'delivered' | 'failed' | 'refused';
    attempts: number;
    lastError: string;
    responseStatus: number | null;
    deliveredAt: string | null;
  };
}

const STATUS_NAMES: Record<CallStatus, CallStatusName> = {
  [CallStatus.UNSPECIFIED]: 'queued',
  [CallStatus.QUEUED]: 'queued',
  [CallStatus.RUNNING]: 'running',
  [CallStatus.SUCCEEDED]: 'succeeded',
  [CallStatus.FAILED]: 'failed',
  [CallStatus.DEAD_LETTERED]: 'dead-lettered',
};

const CALLBACK_STATUS_NAMES: Record<CallbackStatus, NonNullable<CallJson['callback']>['status']> = {
  [CallbackStatus.UNSPECIFIED]: 'pending',
  [CallbackStatus.PENDING]: 'pending',
  [CallbackStatus.DELIVERED]: 'delivered',
  [CallbackStatus.FAILED]: 'failed',
  [CallbackStatus.REFUSED]: 'refused',
};

/** `?status=` of GET /v1/calls, undefined when the name is not a status. */
export function callStatusFromName(name: string): CallStatus | undefined {
  const entry = Object.entries(STATUS_NAMES).find(([value, shown]) => shown === name && Number(value) !== CallStatus.UNSPECIFIED);
  return entry ? (Number(entry[0]) as CallStatus) : undefined;
}

export const CALL_STATUS_NAMES: readonly CallStatusName[] = ['queued', 'running', 'succeeded', 'failed', 'dead-lettered'];

export function callToJson(record: CallRecord): CallJson {
  const status = STATUS_NAMES[record.status] ?? 'queued';
  const json: { -readonly [K in keyof CallJson]: CallJson[K] } = {
    callId: record.callId,
    functionName: record.functionName,
    status,
    attempts: record.attempts,
    throttles: record.throttles,
    replays: record.replays,
    source: record.source,
    queuedAt: iso(record.queuedAtMs),
    startedAt: iso(record.startedAtMs),
    firstStartedAt: iso(record.firstStartedAtMs),
    finishedAt: iso(record.finishedAtMs),
    durationSeconds: record.finishedAtMs > 0n ? record.durationSeconds : null,
    attemptErrors: record.attemptErrors.map(attemptErrorToJson),
  };
  if (status === 'succeeded') json.result = parseResult(record.result);
  if (record.functionError) {
    json.error = { errorType: record.functionError.type || 'Error', errorMessage: record.functionError.message };
  } else if (record.errorCode) {
    // While a call waits for a retry this tells why the last attempt failed.
    json.error = { code: record.errorCode, message: record.errorMessage };
  }
  if (record.callback) json.callback = callbackToJson(record.callback);
  return json;
}

/** A dead letter as GET /v1/dead-letters lists it: the request as queued, and why each attempt failed. */
export function deadLetterToJson(deadLetter: DeadLetter) {
  const request = deadLetter.request;
  const invocation = request?.invocation;
  return {
    callId: invocation?.callId ?? '',
    functionName: invocation?.functionName ?? '',
    deadLetteredAt: iso(deadLetter.deadLetteredAtMs),
    queuedAt: iso(request?.queuedAtMs ?? 0n),
    replay: request?.replay ?? 0,
    source: request?.source ?? '',
    callbackUrl: request?.callbackUrl || null,
    request: {
      kind: invocation?.http ? 'http' : 'event',
      contentType: invocation?.contentType ?? '',
      http: invocation?.http ? { method: invocation.http.method, path: invocation.http.path, rawQuery: invocation.http.rawQuery } : undefined,
      payloadBytes: invocation?.payload.byteLength ?? 0,
      payload: Buffer.from(invocation?.payload ?? new Uint8Array()).toString('base64'),
    },
    attemptErrors: deadLetter.attemptErrors.map(attemptErrorToJson),
  };
}

function attemptErrorToJson(error: AttemptError) {
  return { attempt: error.attempt, at: iso(error.atMs), error: errorOf(error) };
}

function errorOf(error: AttemptError): ErrorJson {
  if (error.functionError) return { errorType: error.functionError.type || 'Error', errorMessage: error.functionError.message };
  if (error.httpStatus) return { httpStatus: error.httpStatus };
  return { code: error.errorCode, message: error.errorMessage };
}

function callbackToJson(callback: CallbackDelivery): NonNullable<CallJson['callback']> {
  return {
    url: callback.url,
    status: CALLBACK_STATUS_NAMES[callback.status] ?? 'pending',
    attempts: callback.attempts,
    lastError: callback.lastError,
    responseStatus: callback.responseStatus || null,
    deliveredAt: iso(callback.deliveredAtMs),
  };
}

function parseResult(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return null;
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function iso(ms: bigint): string | null {
  return ms > 0n ? new Date(Number(ms)).toISOString() : null;
}
