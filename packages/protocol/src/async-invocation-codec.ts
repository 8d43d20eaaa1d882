/**
 * AsyncInvocation by hand: every queued call is encoded once by its
 * publisher and decoded by the tracker and the worker, and protobuf-es's
 * reflective codec costs more per message than the rest of their work on
 * it. Checked against protobuf-es in async-invocation-codec.test.ts.
 */
import type { AsyncInvocation } from './gen/faas/v1/queue_worker_pb.js';
import { Writer, encodeWith, nested, uint64Size, type Plan } from './codec-plan.js';
import { readInvocation, sizeInvocation, writeInvocation } from './invocation-codec.js';
import { In, WIRE_LEN, WIRE_VARINT, stringSize, uintSize } from './wire-primitives.js';

function sizeAsyncInvocation(m: AsyncInvocation, plan: Plan): number {
  let size = 0;
  if (m.invocation) size += nested(plan, (p) => sizeInvocation(m.invocation!, p));
  return size + uint64Size(BigInt.asUintN(64, m.queuedAtMs)) + stringSize(m.callbackUrl) + uintSize(m.replay) + stringSize(m.resultSubject) + stringSize(m.source);
}

function writeAsyncInvocation(out: Writer, m: AsyncInvocation): void {
  if (m.invocation) {
    out.message(1);
    writeInvocation(out, m.invocation);
  }
  // int64 on the wire is the two's-complement varint, as uint64.
  out.uint64(2, BigInt.asUintN(64, m.queuedAtMs));
  out.string(3, m.callbackUrl);
  out.uint(4, m.replay);
  out.string(5, m.resultSubject);
  out.string(6, m.source);
}

export const encodeAsyncInvocation: (message: AsyncInvocation) => Uint8Array = encodeWith(sizeAsyncInvocation, writeAsyncInvocation);

/** Throws on bytes that are not a well-formed message, as fromBinary does. */
export function decodeAsyncInvocation(bytes: Uint8Array): AsyncInvocation {
  const m: AsyncInvocation = { $typeName: 'faas.v1.AsyncInvocation', queuedAtMs: 0n, callbackUrl: '', replay: 0, resultSubject: '', source: '' };
  const input = new In(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_LEN:
        m.invocation = readInvocation(input.nested());
        break;
      case 2 * 8 + WIRE_VARINT:
        m.queuedAtMs = BigInt.asIntN(64, input.varint64());
        break;
      case 3 * 8 + WIRE_LEN:
        m.callbackUrl = input.string();
        break;
      case 4 * 8 + WIRE_VARINT:
        m.replay = input.varint();
        break;
      case 5 * 8 + WIRE_LEN:
        m.resultSubject = input.string();
        break;
      case 6 * 8 + WIRE_LEN:
        m.source = input.string();
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}
