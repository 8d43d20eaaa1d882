import { describe, expect, it } from 'vitest';
import { CallRecordSchema, CallStatus, create } from '@faas/protocol';
import { callToJson } from './call-json.js';

describe('callToJson', () => {
  it('shows a succeeded call with its parsed result', () => {
    const record = create(CallRecordSchema, {
      callId: 'c1', functionName: 'echo', status: CallStatus.SUCCEEDED, result: new TextEncoder().encode('{"a":1}'),
      attempts: 1, queuedAtMs: 1_700_000_000_000n, startedAtMs: 1_700_000_000_500n, finishedAtMs: 1_700_000_001_000n, durationSeconds: 0.4,
    });
    expect(callToJson(record)).toEqual({
      callId: 'c1', functionName: 'echo', status: 'succeeded', result: { a: 1 }, attempts: 1,
      queuedAt: '2023-11-14T22:13:20.000Z', startedAt: '2023-11-14T22:13:20.500Z', finishedAt: '2023-11-14T22:13:21.000Z', durationSeconds: 0.4,
    });
  });

  it('tells function failures from platform failures', () => {
    const functionFailure = create(CallRecordSchema, { callId: 'c', status: CallStatus.FAILED, functionError: { type: 'TypeError', message: 'x' } });
    expect(callToJson(functionFailure).error).toEqual({ errorType: 'TypeError', errorMessage: 'x' });
    const platformFailure = create(CallRecordSchema, { callId: 'c', status: CallStatus.FAILED, errorCode: 'no_funclets', errorMessage: 'none' });
    expect(callToJson(platformFailure).error).toEqual({ code: 'no_funclets', message: 'none' });
  });

  it('leaves out what has not happened yet', () => {
    const queued = callToJson(create(CallRecordSchema, { callId: 'c', status: CallStatus.QUEUED, queuedAtMs: 1n }));
    expect(queued).toMatchObject({ status: 'queued', startedAt: null, finishedAt: null, durationSeconds: null });
    expect(queued).not.toHaveProperty('result');
    expect(queued).not.toHaveProperty('error');
  });
});
