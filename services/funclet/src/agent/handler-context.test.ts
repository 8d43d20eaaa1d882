import { describe, expect, it } from 'vitest';
import { buildContext } from './handler-context.js';
import { callHandler } from './node-runtime.js';

describe('the handler context', () => {
  it('carries the call, the function and the trace context', () => {
    const context = buildContext(
      { callId: 'call-1', kind: 'event', contentType: '', deadlineMs: 10_000, traceparent: '00-abc-def-01' },
      { functionName: 'hello', version: '3', memoryMb: 256 },
      () => 7_500,
    );
    expect(context).toMatchObject({
      callId: 'call-1',
      awsRequestId: 'call-1',
      functionName: 'hello',
      functionVersion: '3',
      memoryLimitInMB: 256,
      traceparent: '00-abc-def-01',
    });
    expect(context.getRemainingTimeInMillis()).toBe(2_500);
  });

  it('never reports negative remaining time', () => {
    const context = buildContext({ callId: 'c', kind: 'event', contentType: '', deadlineMs: 1 }, { functionName: 'f', version: '1', memoryMb: 128 }, () => 5);
    expect(context.getRemainingTimeInMillis()).toBe(0);
    expect(context.traceparent).toBe('');
    expect(context.cloudEvent).toBeUndefined();
  });

  it('carries a CloudEvent\'s attributes when the event came as one', () => {
    const cloudEvent = { specversion: '1.0', id: 'evt-1', source: '/shop', type: 'order.created' };
    const context = buildContext({ callId: 'c', kind: 'event', contentType: 'application/json', deadlineMs: 1, cloudEvent }, { functionName: 'f', version: '1', memoryMb: 128 });
    expect(context.cloudEvent).toEqual(cloudEvent);
  });
});

describe('handler styles', () => {
  it('awaits async handlers', async () => {
    await expect(callHandler(async (event) => ({ got: event }), 1, {})).resolves.toEqual({ got: 1 });
  });

  it('answers callback handlers through their callback, errors included', async () => {
    const ok = (event: unknown, _context: unknown, callback: unknown) => {
      setTimeout(() => (callback as (e: unknown, r: unknown) => void)(null, { later: event }), 5);
    };
    await expect(callHandler(ok, 'x', {})).resolves.toEqual({ later: 'x' });
    const failing = (_event: unknown, _context: unknown, callback: unknown) => (callback as (e: unknown) => void)(new RangeError('nope'));
    await expect(callHandler(failing, 'x', {})).rejects.toThrow(RangeError);
  });

  it('turns a synchronous throw into a rejection', async () => {
    await expect(
      callHandler(() => {
        throw new TypeError('sync');
      }, 1, {}),
    ).rejects.toThrow('sync');
  });
});
