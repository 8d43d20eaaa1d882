import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AsyncInvocationSchema } from './gen/faas/v1/queue_worker_pb.js';
import { InvocationKind } from './gen/faas/v1/invocation_pb.js';
import { decodeAsyncInvocation, encodeAsyncInvocation } from './async-invocation-codec.js';

const samples = [
  create(AsyncInvocationSchema, {}),
  create(AsyncInvocationSchema, {
    invocation: {
      functionName: 'echo',
      callId: 'c-1',
      kind: InvocationKind.EVENT,
      payload: new Uint8Array([0, 1, 255]),
      contentType: 'application/json',
      cloudEventAttributes: { specversion: '1.0', id: 'evt-1', source: '/shop', type: 'order.created' },
    },
    queuedAtMs: 1_700_000_000_123n,
    source: 'http',
  }),
  create(AsyncInvocationSchema, {
    invocation: { functionName: 'web', callId: 'c-2', kind: InvocationKind.HTTP, http: { method: 'POST', path: '/a/b', rawQuery: 'x=1', headers: { 'x-a': 'é', b: '' } }, wantLogTail: true },
    queuedAtMs: 5n,
    callbackUrl: 'http://hooks.example/done',
    replay: 3,
    resultSubject: 'replies.c-2',
    source: 'trigger:orders',
  }),
];

describe('AsyncInvocation codec', () => {
  it('writes what protobuf-es writes and reads what it reads', () => {
    for (const message of samples) {
      expect(Buffer.from(encodeAsyncInvocation(message))).toEqual(Buffer.from(toBinary(AsyncInvocationSchema, message)));
      const decoded = decodeAsyncInvocation(toBinary(AsyncInvocationSchema, message));
      expect(toBinary(AsyncInvocationSchema, decoded)).toEqual(toBinary(AsyncInvocationSchema, message));
      const reference = fromBinary(AsyncInvocationSchema, toBinary(AsyncInvocationSchema, message));
      // The payload comes back as a Buffer (a Uint8Array) viewing the input.
      expect({ ...decoded, invocation: decoded.invocation && { ...decoded.invocation, payload: new Uint8Array(decoded.invocation.payload) } }).toEqual(reference);
    }
  });

  it('refuses bytes that are not a message', () => {
    expect(() => decodeAsyncInvocation(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});
