/**
 * Hand-written codecs for the messages that carry the hot path's calls and
 * outcomes (Funclet.Calls, Controller.Calls, and Controller.Invoke for
 * callers without leases), producing and reading exactly the protobuf-es
 * messages the generated schemas describe; rarely sent parts (a cold
 * start's FunctionConfig, leases) are delegated to protobuf-es.
 * stream-codec.test.ts checks every field both ways against protobuf-es
 * itself. definition.ts uses these for those types.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { LeaseSchema, type Lease } from './gen/faas/v1/calls_pb.js';
import { LeaseRenewalSchema, type ControllerCallsRequest, type ControllerCallsResponse, type InvokeRequest, type InvokeResponse, type LeaseRenewal, type PlacementCall } from './gen/faas/v1/controller_pb.js';
import type { FuncletCallsRequest, FuncletCallsResponse, SandboxCall, SandboxCreated } from './gen/faas/v1/funclet_pb.js';
import { FunctionConfigSchema, type FunctionConfig } from './gen/faas/v1/function_pb.js';
import type { Invocation, InvocationResult } from './gen/faas/v1/invocation_pb.js';
import { Writer, alwaysStringSize, boolSize, delegated, encodeWith, nested, packedSize, readUint32s, writePacked, type MessageCodec, type Plan } from './codec-plan.js';
import { readCallOutcome, readInvocation, readInvocationResult, sizeCallOutcome, sizeInvocation, sizeInvocationResult, writeCallOutcome, writeInvocation, writeInvocationResult } from './invocation-codec.js';
import { In, WIRE_LEN, WIRE_VARINT, stringSize, uintSize } from './wire-primitives.js';

export type { MessageCodec } from './codec-plan.js';

// ---- Funclet.Calls ----------------------------------------------------------------

function sizeSandboxCall(m: SandboxCall, plan: Plan): number {
  let size = uintSize(m.id) + stringSize(m.sandboxId);
  if (m.invocation) size += nested(plan, (p) => sizeInvocation(m.invocation!, p));
  size += uintSize(m.timeoutMs);
  if (m.function) size += delegated(plan, FunctionConfigSchema, m.function);
  return size + stringSize(m.traceparent) + stringSize(m.tracestate) + stringSize(m.owner) + stringSize(m.reservation);
}

function writeSandboxCall(out: Writer, m: SandboxCall): void {
  out.uint(1, m.id);
  out.string(2, m.sandboxId);
  if (m.invocation) {
    out.message(3);
    writeInvocation(out, m.invocation);
  }
  out.uint(4, m.timeoutMs);
  if (m.function) out.blob(5);
  out.string(6, m.traceparent);
  out.string(7, m.tracestate);
  out.string(8, m.owner);
  out.string(9, m.reservation);
}

function readSandboxCall(input: In): SandboxCall {
  const m: SandboxCall = { $typeName: 'faas.v1.SandboxCall', id: 0, sandboxId: '', timeoutMs: 0, traceparent: '', tracestate: '', owner: '', reservation: '' };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_VARINT:
        m.id = input.varint();
        break;
      case 2 * 8 + WIRE_LEN:
        m.sandboxId = input.string();
        break;
      case 3 * 8 + WIRE_LEN:
        m.invocation = readInvocation(input.nested());
        break;
      case 4 * 8 + WIRE_VARINT:
        m.timeoutMs = input.varint();
        break;
      case 5 * 8 + WIRE_LEN:
        m.function = fromBinary(FunctionConfigSchema, input.bytes()) as FunctionConfig;
        break;
      case 6 * 8 + WIRE_LEN:
        m.traceparent = input.string();
        break;
      case 7 * 8 + WIRE_LEN:
        m.tracestate = input.string();
        break;
      case 8 * 8 + WIRE_LEN:
        m.owner = input.string();
        break;
      case 9 * 8 + WIRE_LEN:
        m.reservation = input.string();
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}

const funcletCallsRequest: MessageCodec = {
  encode: encodeWith<FuncletCallsRequest>(
    (m, plan) => {
      let size = 0;
      for (const call of m.calls) size += nested(plan, (p) => sizeSandboxCall(call, p));
      return size + packedSize(m.cancelled);
    },
    (out, m) => {
      for (const call of m.calls) {
        out.message(1);
        writeSandboxCall(out, call);
      }
      writePacked(out, 2, m.cancelled);
    },
  ),
  decode(bytes) {
    const m: FuncletCallsRequest = { $typeName: 'faas.v1.FuncletCallsRequest', calls: [], cancelled: [] };
    const input = new In(bytes);
    while (input.more) {
      const tag = input.varint();
      const wire = tag & 7;
      if (tag >>> 3 === 1 && wire === WIRE_LEN) m.calls.push(readSandboxCall(input.nested()));
      else if (tag >>> 3 === 2) readUint32s(input, wire, m.cancelled);
      else input.skip(wire);
    }
    return m;
  },
};

const funcletCallsResponse: MessageCodec = {
  encode: encodeWith<FuncletCallsResponse>(
    (m, plan) => {
      let size = 0;
      for (const outcome of m.outcomes) size += nested(plan, (p) => sizeCallOutcome(outcome, p));
      for (const created of m.created) size += nested(plan, () => uintSize(created.callId) + stringSize(created.sandboxId));
      return size;
    },
    (out, m) => {
      for (const outcome of m.outcomes) {
        out.message(1);
        writeCallOutcome(out, outcome);
      }
      for (const created of m.created) {
        out.message(2);
        out.uint(1, created.callId);
        out.string(2, created.sandboxId);
      }
    },
  ),
  decode(bytes) {
    const m: FuncletCallsResponse = { $typeName: 'faas.v1.FuncletCallsResponse', outcomes: [], created: [] };
    const input = new In(bytes);
    while (input.more) {
      const tag = input.varint();
      const wire = tag & 7;
      if (wire !== WIRE_LEN) input.skip(wire);
      else if (tag >>> 3 === 1) m.outcomes.push(readCallOutcome(input.nested()));
      else if (tag >>> 3 === 2) m.created.push(readSandboxCreated(input.nested()));
      else input.skip(wire);
    }
    return m;
  },
};

function readSandboxCreated(input: In): SandboxCreated {
  const m: SandboxCreated = { $typeName: 'faas.v1.SandboxCreated', callId: 0, sandboxId: '' };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === WIRE_VARINT) m.callId = input.varint();
    else if (tag >>> 3 === 2 && wire === WIRE_LEN) m.sandboxId = input.string();
    else input.skip(wire);
  }
  return m;
}

// ---- Controller.Calls -------------------------------------------------------------

function sizePlacementCall(m: PlacementCall, plan: Plan): number {
  let size = uintSize(m.id);
  if (m.invocation) size += nested(plan, (p) => sizeInvocation(m.invocation!, p));
  return size + stringSize(m.traceparent) + stringSize(m.tracestate) + boolSize(m.wantLease);
}

function writePlacementCall(out: Writer, m: PlacementCall): void {
  out.uint(1, m.id);
  if (m.invocation) {
    out.message(2);
    writeInvocation(out, m.invocation);
  }
  out.string(3, m.traceparent);
  out.string(4, m.tracestate);
  out.bool(5, m.wantLease);
}

function readPlacementCall(input: In): PlacementCall {
  const m: PlacementCall = { $typeName: 'faas.v1.PlacementCall', id: 0, traceparent: '', tracestate: '', wantLease: false };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_VARINT:
        m.id = input.varint();
        break;
      case 2 * 8 + WIRE_LEN:
        m.invocation = readInvocation(input.nested());
        break;
      case 3 * 8 + WIRE_LEN:
        m.traceparent = input.string();
        break;
      case 4 * 8 + WIRE_LEN:
        m.tracestate = input.string();
        break;
      case 5 * 8 + WIRE_VARINT:
        m.wantLease = input.varint() !== 0;
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}

const controllerCallsRequest: MessageCodec = {
  encode: encodeWith<ControllerCallsRequest>(
    (m, plan) => {
      let size = 0;
      for (const call of m.calls) size += nested(plan, (p) => sizePlacementCall(call, p));
      size += packedSize(m.cancelled);
      for (const renewal of m.renewals) size += delegated(plan, LeaseRenewalSchema, renewal);
      return size;
    },
    (out, m) => {
      for (const call of m.calls) {
        out.message(1);
        writePlacementCall(out, call);
      }
      writePacked(out, 2, m.cancelled);
      for (let i = 0; i < m.renewals.length; i++) out.blob(3);
    },
  ),
  decode(bytes) {
    const m: ControllerCallsRequest = { $typeName: 'faas.v1.ControllerCallsRequest', calls: [], cancelled: [], renewals: [] };
    const input = new In(bytes);
    while (input.more) {
      const tag = input.varint();
      const wire = tag & 7;
      if (tag >>> 3 === 1 && wire === WIRE_LEN) m.calls.push(readPlacementCall(input.nested()));
      else if (tag >>> 3 === 2) readUint32s(input, wire, m.cancelled);
      else if (tag >>> 3 === 3 && wire === WIRE_LEN) m.renewals.push(fromBinary(LeaseRenewalSchema, input.bytes()) as LeaseRenewal);
      else input.skip(wire);
    }
    return m;
  },
};

const controllerCallsResponse: MessageCodec = {
  encode: encodeWith<ControllerCallsResponse>(
    (m, plan) => {
      let size = 0;
      for (const outcome of m.outcomes) size += nested(plan, (p) => sizeCallOutcome(outcome, p));
      for (const lease of m.leases) size += delegated(plan, LeaseSchema, lease);
      for (const id of m.revoked) size += alwaysStringSize(id);
      return size;
    },
    (out, m) => {
      for (const outcome of m.outcomes) {
        out.message(1);
        writeCallOutcome(out, outcome);
      }
      for (let i = 0; i < m.leases.length; i++) out.blob(2);
      for (const id of m.revoked) out.stringAlways(3, id);
    },
  ),
  decode(bytes) {
    const m: ControllerCallsResponse = { $typeName: 'faas.v1.ControllerCallsResponse', outcomes: [], leases: [], revoked: [] };
    const input = new In(bytes);
    while (input.more) {
      const tag = input.varint();
      const wire = tag & 7;
      if (wire !== WIRE_LEN) input.skip(wire);
      else if (tag >>> 3 === 1) m.outcomes.push(readCallOutcome(input.nested()));
      else if (tag >>> 3 === 2) m.leases.push(fromBinary(LeaseSchema, input.bytes()) as Lease);
      else if (tag >>> 3 === 3) m.revoked.push(input.string());
      else input.skip(wire);
    }
    return m;
  },
};

// ---- Controller.Invoke, for callers that hold no leases ------------------------

/** A message whose one field (1) is a nested message: InvokeRequest and InvokeResponse. */
function wrapperCodec<Inner, Outer extends { $typeName: string }>(
  typeName: Outer['$typeName'],
  field: keyof Outer & string,
  size: (inner: Inner, plan: Plan) => number,
  write: (out: Writer, inner: Inner) => void,
  read: (input: In) => Inner,
): MessageCodec {
  return {
    encode: encodeWith<Outer>(
      (m, plan) => {
        const inner = m[field] as Inner | undefined;
        return inner ? nested(plan, (p) => size(inner, p)) : 0;
      },
      (out, m) => {
        const inner = m[field] as Inner | undefined;
        if (!inner) return;
        out.message(1);
        write(out, inner);
      },
    ),
    decode(bytes) {
      const m = { $typeName: typeName } as Record<string, unknown>;
      const input = new In(bytes);
      while (input.more) {
        const tag = input.varint();
        if (tag === ((1 << 3) | WIRE_LEN)) m[field] = read(input.nested());
        else input.skip(tag & 7);
      }
      return m;
    },
  };
}

const invokeRequest = wrapperCodec<Invocation, InvokeRequest>('faas.v1.InvokeRequest', 'invocation', sizeInvocation, writeInvocation, readInvocation);
const invokeResponse = wrapperCodec<InvocationResult, InvokeResponse>('faas.v1.InvokeResponse', 'result', sizeInvocationResult, writeInvocationResult, readInvocationResult);

/** The hand-written codecs, by message type name. */
export const STREAM_CODECS: ReadonlyMap<string, MessageCodec> = new Map([
  ['faas.v1.FuncletCallsRequest', funcletCallsRequest],
  ['faas.v1.FuncletCallsResponse', funcletCallsResponse],
  ['faas.v1.ControllerCallsRequest', controllerCallsRequest],
  ['faas.v1.ControllerCallsResponse', controllerCallsResponse],
  ['faas.v1.InvokeRequest', invokeRequest],
  ['faas.v1.InvokeResponse', invokeResponse],
]);

