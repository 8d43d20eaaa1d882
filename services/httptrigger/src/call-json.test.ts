import { describe, expect, it } from 'vitest';
import { CallRecordSchema, CallStatus, CallbackStatus, create } from '@faas/protocol';
import { callStatusFromName, callToJson } from './call-json.js';

describe('callToJson', () => {
  it('shows a succeeded call with its parsed result', () => {
    const record = create(CallRecordSchema, {
      callId: 'c1', functionName: 'echo', status: CallStatus.SUCCEEDED, result: new TextEncoder().encode('{"a":1}'),
      attempts: 1, queuedAtMs: 1_700_000_000_000n, startedAtMs: 1_700_000_000_500n, finishedAtMs: 1_700_000_001_000n, durationSeconds: 0.4,
    });
    expect(callToJson(record)).toEqual({
      callId: 'c1', functionName: 'echo', status: 'succeeded', result: { a: 1 }, attempts: 1, throttles: 0, replays: 0, source: '',
      queuedAt: '2023-11-14T22:13:20.000Z', startedAt: '2023-11-14T22:13:20.500Z', firstStartedAt: null, finishedAt: '2023-11-14T22:13:21.000Z', durationSeconds: 0.4,
      attemptErrors: [],
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

  it('shows a dead-lettered call with every attempt\'s error and its callback\'s delivery', () => {
    const record = create(CallRecordSchema, {
      callId: 'c', status: CallStatus.DEAD_LETTERED, attempts: 2, errorCode: 'service_unavailable', errorMessage: 'down',
      attemptErrors: [{ attempt: 1, atMs: 1_000n, functionError: { type: 'Error', message: 'boom' } }, { attempt: 2, atMs: 2_000n, httpStatus: 503 }],
      callback: { url: 'http://hooks.example/x', status: CallbackStatus.PENDING, attempts: 1, lastError: 'refused' },
    });
    const json = callToJson(record);
    expect(json.status).toBe('dead-lettered');
    expect(json.attemptErrors).toEqual([
      { attempt: 1, at: '1970-01-01T00:00:01.000Z', error: { errorType: 'Error', errorMessage: 'boom' } },
      { attempt: 2, at: '1970-01-01T00:00:02.000Z', error: { httpStatus: 503 } },
    ]);
    expect(json.callback).toEqual({ url: 'http://hooks.example/x', status: 'pending', attempts: 1, lastError: 'refused', responseStatus: null, deliveredAt: null });
  });

  it('reads status names back for listings', () => {
    expect(callStatusFromName('dead-lettered')).toBe(CallStatus.DEAD_LETTERED);
    expect(callStatusFromName('queued')).toBe(CallStatus.QUEUED);
    expect(callStatusFromName('lost')).toBeUndefined();
  });
});
