import { describe, expect, it } from 'vitest';
import { AsyncInvocationSchema, HttpRequestSchema, InvocationKind, create, toBinary } from '@faas/protocol';
import { decodeMessage, type RawMessage } from './message-decoding.js';

function message(overrides: Partial<RawMessage> & { headers?: Record<string, string> } = {}): RawMessage {
  const headers = overrides.headers ?? {};
  return {
    subject: 'faas.invoke.echo',
    data: new TextEncoder().encode('{"x":1}'),
    streamSequence: 42,
    storedAtMs: 1_700_000_000_000,
    ...overrides,
    header: (name) => headers[name] ?? '',
  };
}

function envelope(fields: Parameters<typeof create<typeof AsyncInvocationSchema>>[1]): Uint8Array {
  return toBinary(AsyncInvocationSchema, create(AsyncInvocationSchema, fields));
}

describe('decodeMessage', () => {
  it('reads a raw event with the message id as call id', () => {
    const result = decodeMessage(message({ headers: { 'Nats-Msg-Id': 'call-1', 'Content-Type': 'application/json' } }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.call.callId).toBe('call-1');
    expect(result.call.functionName).toBe('echo');
    expect(result.call.queuedAtMs).toBe(1_700_000_000_000);
    expect(result.call.invocation.kind).toBe(InvocationKind.EVENT);
    expect(result.call.invocation.callId).toBe('call-1');
    expect(result.call.invocation.contentType).toBe('application/json');
    expect(new TextDecoder().decode(result.call.invocation.payload)).toBe('{"x":1}');
  });

  it('names a raw event without a message id after its stream sequence', () => {
    const result = decodeMessage(message());
    expect(result.ok && result.call.callId).toBe('nats-42');
  });

  it('reads an AsyncInvocation envelope, keeping its HTTP request and queue time', () => {
    const data = envelope({
      invocation: {
        functionName: 'echo',
        callId: 'abc',
        kind: InvocationKind.HTTP,
        payload: new Uint8Array([0xff, 0x00]),
        http: create(HttpRequestSchema, { method: 'POST', path: '/x' }),
      },
      queuedAtMs: 123n,
      callbackUrl: 'http://127.0.0.1:9/cb',
    });
    const result = decodeMessage(message({ data, headers: { 'Faas-Envelope': 'faas.v1.AsyncInvocation', 'Nats-Msg-Id': 'abc' } }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.call).toMatchObject({ callId: 'abc', functionName: 'echo', queuedAtMs: 123, callbackUrl: 'http://127.0.0.1:9/cb' });
    expect(result.call.invocation.kind).toBe(InvocationKind.HTTP);
    expect(result.call.invocation.http?.path).toBe('/x');
    expect([...result.call.invocation.payload]).toEqual([0xff, 0x00]);
  });

  it('fills an envelope without call id or function from the message', () => {
    const data = envelope({ invocation: { payload: new Uint8Array([1]) } });
    const result = decodeMessage(message({ data, headers: { 'Faas-Envelope': 'faas.v1.AsyncInvocation', 'Nats-Msg-Id': 'm-1' } }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.call.invocation).toMatchObject({ callId: 'm-1', functionName: 'echo', kind: InvocationKind.EVENT });
    expect(result.call.queuedAtMs).toBe(1_700_000_000_000);
  });

  it('rejects garbage envelopes but keeps the call id to record the failure', () => {
    const result = decodeMessage(
      message({ data: new Uint8Array([0xff, 0xff, 0xff]), headers: { 'Faas-Envelope': 'faas.v1.AsyncInvocation', 'Nats-Msg-Id': 'bad-1' } }),
    );
    expect(result).toMatchObject({ ok: false, callId: 'bad-1', functionName: 'echo' });
  });

  it('rejects an envelope for another function', () => {
    const data = envelope({ invocation: { functionName: 'other', callId: 'c' } });
    const result = decodeMessage(message({ data, headers: { 'Faas-Envelope': 'faas.v1.AsyncInvocation' } }));
    expect(result).toMatchObject({ ok: false, callId: 'c' });
  });

  it('keeps the version or alias a subject names (faas.invoke.<name>:<qualifier>)', () => {
    const data = envelope({ invocation: { functionName: 'echo:live', callId: 'c' } });
    const result = decodeMessage(message({ subject: 'faas.invoke.echo:live', data, headers: { 'Faas-Envelope': 'faas.v1.AsyncInvocation' } }));
    expect(result).toMatchObject({ ok: true, call: { functionName: 'echo:live', invocation: { functionName: 'echo:live' } } });
    const elsewhere = envelope({ invocation: { functionName: 'echo:live', callId: 'c' } });
    expect(decodeMessage(message({ data: elsewhere, headers: { 'Faas-Envelope': 'faas.v1.AsyncInvocation' } }))).toMatchObject({ ok: false, callId: 'c' });
  });

  it('rejects unknown envelopes, bad subjects and unusable ids', () => {
    expect(decodeMessage(message({ headers: { 'Faas-Envelope': 'something.Else' } }))).toMatchObject({ ok: false, callId: 'nats-42' });
    expect(decodeMessage(message({ subject: 'faas.invoke.Bad_Name' }))).toMatchObject({ ok: false });
    expect(decodeMessage(message({ subject: 'faas.invoke.a.b' }))).toMatchObject({ ok: false });
    const badId = decodeMessage(message({ headers: { 'Nats-Msg-Id': 'has space' } }));
    expect(badId.ok).toBe(false);
    expect(!badId.ok && badId.callId).toBeUndefined();
  });
});
