import { AsyncInvocationSchema, CALL_ID, ENVELOPE_ASYNC_INVOCATION, ENVELOPE_HEADER, INVOCATION_SUBJECT_PREFIX, InvocationKind, InvocationSchema, create, fromBinary, isQualifiedName, type Invocation } from '@faas/protocol';

export const MSG_ID_HEADER = 'Nats-Msg-Id';


/** The parts of a JetStream message decoding looks at. */
export interface RawMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Returns '' or undefined for a missing header (NATS headers return ''). */
  header(name: string): string | undefined;
  readonly streamSequence: number;
  /** When the stream stored the message. */
  readonly storedAtMs: number;
}

export interface DecodedCall {
  readonly callId: string;
  readonly functionName: string;
  readonly invocation: Invocation;
  readonly queuedAtMs: number;
  readonly callbackUrl: string;
}

export type DecodeResult =
  | { readonly ok: true; readonly call: DecodedCall }
  /** `callId` is set when the message names a usable id, so the failure can be recorded. */
  | { readonly ok: false; readonly reason: string; readonly callId?: string; readonly functionName?: string };

/**
 * Turns either body shape (docs/design.md "Async invocations") into the
 * invocation to run. Never throws: a message that cannot run is reported as
 * such so the worker can record it and drop it.
 */
export function decodeMessage(message: RawMessage): DecodeResult {
  const headerCallId = message.header(MSG_ID_HEADER) || undefined;
  const fallbackCallId = headerCallId ?? `nats-${message.streamSequence}`;
  const knownCallId = CALL_ID.test(fallbackCallId) ? fallbackCallId : undefined;

  const functionName = message.subject.startsWith(INVOCATION_SUBJECT_PREFIX) ? message.subject.slice(INVOCATION_SUBJECT_PREFIX.length) : '';
  // faas.invoke.<name> for $LATEST, faas.invoke.<name>:<version or alias> for the others.
  if (!isQualifiedName(functionName)) {
    return { ok: false, reason: `subject "${message.subject}" does not name a function (faas.invoke.<name>[:<qualifier>])`, callId: knownCallId };
  }

  const envelope = message.header(ENVELOPE_HEADER);
  if (!envelope) {
    if (!knownCallId) return { ok: false, reason: `message id "${truncate(fallbackCallId)}" is not a valid call id` };
    const invocation = create(InvocationSchema, {
      functionName,
      callId: knownCallId,
      kind: InvocationKind.EVENT,
      payload: message.data,
      contentType: message.header('Content-Type') || '',
    });
    return { ok: true, call: { callId: knownCallId, functionName, invocation, queuedAtMs: message.storedAtMs, callbackUrl: '' } };
  }

  if (envelope !== ENVELOPE_ASYNC_INVOCATION) {
    return { ok: false, reason: `unknown envelope "${truncate(envelope)}"`, callId: knownCallId, functionName };
  }
  let decoded;
  try {
    decoded = fromBinary(AsyncInvocationSchema, message.data);
  } catch (error) {
    return { ok: false, reason: `undecodable AsyncInvocation: ${(error as Error).message}`, callId: knownCallId, functionName };
  }
  const invocation = decoded.invocation;
  if (!invocation) return { ok: false, reason: 'AsyncInvocation without an invocation', callId: knownCallId, functionName };

  const callId = invocation.callId || knownCallId;
  if (!callId || !CALL_ID.test(callId)) {
    return { ok: false, reason: `call id "${truncate(invocation.callId)}" is not valid`, callId: knownCallId, functionName };
  }
  if (invocation.functionName && invocation.functionName !== functionName) {
    return {
      ok: false,
      reason: `the invocation names function "${truncate(invocation.functionName)}" but was published for "${functionName}"`,
      callId,
      functionName,
    };
  }
  invocation.functionName = functionName;
  invocation.callId = callId;
  if (invocation.kind === InvocationKind.UNSPECIFIED) invocation.kind = InvocationKind.EVENT;
  const queuedAtMs = decoded.queuedAtMs > 0n ? Number(decoded.queuedAtMs) : message.storedAtMs;
  return { ok: true, call: { callId, functionName, invocation, queuedAtMs, callbackUrl: decoded.callbackUrl } };
}

function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
