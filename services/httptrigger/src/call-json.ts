import { CallStatus, type CallRecord } from '@faas/protocol';

export type CallStatusName = 'queued' | 'running' | 'succeeded' | 'failed';

/** An asynchronous call as GET /v1/calls/{callId} shows it. */
export interface CallJson {
  readonly callId: string;
  readonly functionName: string;
  readonly status: CallStatusName;
  readonly result?: unknown;
  readonly error?: { errorType: string; errorMessage: string } | { code: string; message: string };
  readonly attempts: number;
  readonly queuedAt: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationSeconds: number | null;
}

const STATUS_NAMES: Record<CallStatus, CallStatusName> = {
  [CallStatus.UNSPECIFIED]: 'queued',
  [CallStatus.QUEUED]: 'queued',
  [CallStatus.RUNNING]: 'running',
  [CallStatus.SUCCEEDED]: 'succeeded',
  [CallStatus.FAILED]: 'failed',
};

export function callToJson(record: CallRecord): CallJson {
  const status = STATUS_NAMES[record.status] ?? 'queued';
  const json: { -readonly [K in keyof CallJson]: CallJson[K] } = {
    callId: record.callId,
    functionName: record.functionName,
    status,
    attempts: record.attempts,
    queuedAt: iso(record.queuedAtMs),
    startedAt: iso(record.startedAtMs),
    finishedAt: iso(record.finishedAtMs),
    durationSeconds: record.finishedAtMs > 0n ? record.durationSeconds : null,
  };
  if (status === 'succeeded') json.result = parseResult(record.result);
  if (record.functionError) {
    json.error = { errorType: record.functionError.type || 'Error', errorMessage: record.functionError.message };
  } else if (record.errorCode) {
    // While a call waits for a retry this tells why the last attempt failed.
    json.error = { code: record.errorCode, message: record.errorMessage };
  }
  return json;
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
