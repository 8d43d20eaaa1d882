import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CallRecordSchema, CallStatus, create } from '@faas/protocol';
import { callbackRequest } from './callback-request.js';

describe('callbackRequest', () => {
  it('sends the result with the OpenFaaS headers, signed when the function has a secret', () => {
    const record = create(CallRecordSchema, { callId: 'c-1', functionName: 'echo', status: CallStatus.SUCCEEDED, result: Buffer.from('{"ok":true}'), durationSeconds: 0.5, attempts: 2 });
    const { headers, body } = callbackRequest(record, 'a-secret-of-sixteen+', 1_700_000_000_000);
    expect(body.toString()).toBe('{"ok":true}');
    expect(headers).toMatchObject({ 'X-Call-Id': 'c-1', 'X-Function-Name': 'echo', 'X-Function-Status': '200', 'X-Duration-Seconds': '0.500000', 'X-Call-Status': 'succeeded', 'X-Call-Attempts': '2' });
    const expected = createHmac('sha256', 'a-secret-of-sixteen+').update('1700000000000.{"ok":true}').digest('hex');
    expect(headers['X-Faas-Signature']).toBe(`sha256=${expected}`);
    expect(headers['X-Faas-Timestamp']).toBe('1700000000000');
  });

  it('sends errors as JSON with the status they amount to, unsigned without a secret', () => {
    const timedOut = create(CallRecordSchema, { status: CallStatus.FAILED, functionError: { type: 'Timeout', message: 'late' } });
    expect(callbackRequest(timedOut, '', 0).headers['X-Function-Status']).toBe('504');
    const dead = create(CallRecordSchema, { status: CallStatus.DEAD_LETTERED, errorCode: 'service_unavailable', errorMessage: 'down' });
    const request = callbackRequest(dead, '', 0);
    expect(request.headers).toMatchObject({ 'X-Function-Status': '503', 'X-Call-Status': 'dead-lettered' });
    expect(request.headers['X-Faas-Signature']).toBeUndefined();
    expect(JSON.parse(request.body.toString())).toEqual({ code: 'service_unavailable', message: 'down' });
  });

  it('delivers a queued HTTP call\'s own response: its status, content type and raw body', () => {
    const shaped = { statusCode: 201, headers: { 'Content-Type': 'image/png' }, body: Buffer.from([0x89, 0x50, 0xff]).toString('base64'), isBase64Encoded: true };
    const record = create(CallRecordSchema, { callId: 'c-2', status: CallStatus.SUCCEEDED, httpResult: true, result: Buffer.from(JSON.stringify(shaped)) });
    const { headers, body } = callbackRequest(record, '', 0);
    expect(headers).toMatchObject({ 'content-type': 'image/png', 'X-Function-Status': '201', 'X-Call-Status': 'succeeded' });
    expect([...body]).toEqual([0x89, 0x50, 0xff]);
  });
});
