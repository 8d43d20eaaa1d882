import { describe, expect, it } from 'vitest';
import { InvocationKind, InvocationSchema, create } from '@faas/protocol';
import { sandboxCall } from './sandbox-call.js';

describe('sandboxCall', () => {
  it('hands a CloudEvent\'s attributes on to the agent, and none for other events', () => {
    const cloudEventAttributes = { specversion: '1.0', id: 'evt-1', source: '/shop', type: 'order.created' };
    const asEvent = sandboxCall(create(InvocationSchema, { functionName: 'f', callId: 'c-1', kind: InvocationKind.EVENT, cloudEventAttributes }), {});
    expect(asEvent.cloudEvent).toEqual(cloudEventAttributes);
    const plain = sandboxCall(create(InvocationSchema, { functionName: 'f', callId: 'c-2', kind: InvocationKind.EVENT }), {});
    expect(plain).toMatchObject({ kind: 'event', callId: 'c-2' });
    expect(plain.cloudEvent).toBeUndefined();
  });
});
