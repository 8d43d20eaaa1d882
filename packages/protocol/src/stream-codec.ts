/**
 * Hand-written codecs for the messages that carry the hot path's calls and
 * outcomes (Funclet.Calls, Controller.Calls, and Controller.Invoke for
 * callers without leases), producing and reading
 * exactly the protobuf-es messages the generated schemas describe; rarely
 * sent parts (a cold start's FunctionConfig, leases) are delegated to
 * protobuf-es. stream-codec.test.ts checks every field both ways against
 * protobuf-es itself. definition.ts uses these for those types.
 */
import { fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import type { CallFailure, CallOutcome, Lease } from './gen/faas/v1/calls_pb.js';
import { LeaseSchema } from './gen/faas/v1/calls_pb.js';
import type { ControllerCallsRequest, ControllerCallsResponse, InvokeRequest, InvokeResponse, LeaseRenewal, PlacementCall } from './gen/faas/v1/controller_pb.js';
import { LeaseRenewalSchema } from './gen/faas/v1/controller_pb.js';
import type { FuncletCallsRequest, FuncletCallsResponse, SandboxCall, SandboxCreated } from './gen/faas/v1/funclet_pb.js';
import type { FunctionConfig, FunctionError } from './gen/faas/v1/function_pb.js';
import { FunctionConfigSchema } from './gen/faas/v1/function_pb.js';
import type { HttpHeader, HttpRequest, HttpResponse, Invocation, InvocationResult } from './gen/faas/v1/invocation_pb.js';
import { In, Out, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, bytesSize, lenFieldSize, stringSize, uintSize, utf8Length, varint64Size, varintSize } from './wire-primitives.js';

export interface MessageCodec {
  encode(message: unknown): Buffer;
  decode(bytes: Buffer): unknown;
}

/** Nested message sizes (pre-order) and delegated encodings, from the sizing pass for the writing pass. */
interface Plan {
  readonly lengths: number[];
  readonly blobs: Uint8Array[];
}

const EMPTY = new Uint8Array(0);

// ---- sizing and writing helpers -------------------------------------------

/** A nested message's field size; its own size goes into the plan first, so writing finds it in order. */
function nested(plan: Plan, size: (plan: Plan) => number): number {
  const index = plan.lengths.length;
  plan.lengths.push(0);
  const length = size(plan);
  plan.lengths[index] = length;
  return lenFieldSize(length);
}

function delegated<S extends DescMessage>(plan: Plan, schema: S, message: Parameters<typeof toBinary<S>>[1]): number {
  const encoded = toBinary(schema, message);
  plan.blobs.push(encoded);
  return lenFieldSize(encoded.byteLength);
}

class Writer extends Out {
  private nextBlob = 0;

  constructor(size: number, plan: Plan) {
    super(size, plan.lengths);
    this.blobs = plan.blobs;
  }

  private readonly blobs: Uint8Array[];

  blob(field: number): void {
    this.embedded(field, this.blobs[this.nextBlob++]!);
  }

  /** A string written even when empty (map entries always carry key and value). */
  stringAlways(field: number, value: string): void {
    this.tag(field, WIRE_LEN);
    this.utf8(value);
  }
}

function encodeWith<M>(size: (message: M, plan: Plan) => number, write: (out: Writer, message: M) => void): (message: unknown) => Buffer {
  return (message) => {
    const plan: Plan = { lengths: [], blobs: [] };
    const total = size(message as M, plan);
    const out = new Writer(total, plan);
    write(out, message as M);
    if (out.pos !== total) throw new Error(`stream codec wrote ${out.pos} bytes, sized ${total}`);
    return out.buf;
  };
}

const alwaysStringSize = (value: string) => lenFieldSize(utf8Length(value));
const boolSize = (value: boolean) => (value ? 2 : 0);
const uint64Size = (value: bigint) => (value === 0n ? 0 : 1 + varint64Size(value));
const doubleSize = (value: number) => (value === 0 ? 0 : 9);

// ---- Invocation, HttpRequest --------------------------------------------------

function sizeHttpRequest(m: HttpRequest, plan: Plan): number {
  let size = stringSize(m.method) + stringSize(m.path) + stringSize(m.rawQuery);
  for (const key in m.headers) {
    const value = m.headers[key]!;
    size += nested(plan, () => alwaysStringSize(key) + alwaysStringSize(value));
  }
  return size;
}

function writeHttpRequest(out: Writer, m: HttpRequest): void {
  out.string(1, m.method);
  out.string(2, m.path);
  out.string(3, m.rawQuery);
  for (const key in m.headers) {
    out.message(4);
    out.stringAlways(1, key);
    out.stringAlways(2, m.headers[key]!);
  }
}

function sizeInvocation(m: Invocation, plan: Plan): number {
  let size = stringSize(m.functionName) + stringSize(m.callId) + uintSize(m.kind) + bytesSize(m.payload) + stringSize(m.contentType);
  if (m.http) size += nested(plan, (p) => sizeHttpRequest(m.http!, p));
  return size + boolSize(m.wantLogTail);
}

function writeInvocation(out: Writer, m: Invocation): void {
  out.string(1, m.functionName);
  out.string(2, m.callId);
  out.uint(3, m.kind);
  out.bytes(4, m.payload);
  out.string(5, m.contentType);
  if (m.http) {
    out.message(6);
    writeHttpRequest(out, m.http);
  }
  out.bool(7, m.wantLogTail);
}

function readHttpRequest(input: In): HttpRequest {
  const m: HttpRequest = { $typeName: 'faas.v1.HttpRequest', method: '', path: '', rawQuery: '', headers: {} };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    if (wire !== WIRE_LEN) {
      input.skip(wire);
      continue;
    }
    switch (tag >>> 3) {
      case 1:
        m.method = input.string();
        break;
      case 2:
        m.path = input.string();
        break;
      case 3:
        m.rawQuery = input.string();
        break;
      case 4: {
        const [key, value] = readStringPair(input.nested());
        m.headers[key] = value;
        break;
      }
      default:
        input.skip(wire);
    }
  }
  return m;
}

/** A map<string, string> entry, or any message of two strings in fields 1 and 2. */
function readStringPair(input: In): [string, string] {
  let first = '';
  let second = '';
  while (input.more) {
    const tag = input.varint();
    if ((tag & 7) !== WIRE_LEN) input.skip(tag & 7);
    else if (tag >>> 3 === 1) first = input.string();
    else if (tag >>> 3 === 2) second = input.string();
    else input.skip(WIRE_LEN);
  }
  return [first, second];
}

function readInvocation(input: In): Invocation {
  const m: Invocation = { $typeName: 'faas.v1.Invocation', functionName: '', callId: '', kind: 0, payload: EMPTY, contentType: '', wantLogTail: false };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_LEN:
        m.functionName = input.string();
        break;
      case 2 * 8 + WIRE_LEN:
        m.callId = input.string();
        break;
      case 3 * 8 + WIRE_VARINT:
        m.kind = input.varint();
        break;
      case 4 * 8 + WIRE_LEN:
        m.payload = input.bytes();
        break;
      case 5 * 8 + WIRE_LEN:
        m.contentType = input.string();
        break;
      case 6 * 8 + WIRE_LEN:
        m.http = readHttpRequest(input.nested());
        break;
      case 7 * 8 + WIRE_VARINT:
        m.wantLogTail = input.varint() !== 0;
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}

// ---- InvocationResult, HttpResponse, FunctionError ----------------------------

function sizeFunctionError(m: FunctionError): number {
  return stringSize(m.type) + stringSize(m.message) + stringSize(m.stack);
}

function writeFunctionError(out: Writer, m: FunctionError): void {
  out.string(1, m.type);
  out.string(2, m.message);
  out.string(3, m.stack);
}

function readFunctionError(input: In): FunctionError {
  const m: FunctionError = { $typeName: 'faas.v1.FunctionError', type: '', message: '', stack: '' };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    if (wire !== WIRE_LEN) input.skip(wire);
    else if (tag >>> 3 === 1) m.type = input.string();
    else if (tag >>> 3 === 2) m.message = input.string();
    else if (tag >>> 3 === 3) m.stack = input.string();
    else input.skip(wire);
  }
  return m;
}

function sizeHttpResponse(m: HttpResponse, plan: Plan): number {
  let size = uintSize(m.status);
  for (const header of m.headers) size += nested(plan, () => stringSize(header.name) + stringSize(header.value));
  return size + bytesSize(m.body);
}

function writeHttpResponse(out: Writer, m: HttpResponse): void {
  out.uint(1, m.status);
  for (const header of m.headers) {
    out.message(2);
    out.string(1, header.name);
    out.string(2, header.value);
  }
  out.bytes(3, m.body);
}

function readHttpResponse(input: In): HttpResponse {
  const m: HttpResponse = { $typeName: 'faas.v1.HttpResponse', status: 0, headers: [], body: EMPTY };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_VARINT:
        m.status = input.varint();
        break;
      case 2 * 8 + WIRE_LEN: {
        const [name, value] = readStringPair(input.nested());
        m.headers.push({ $typeName: 'faas.v1.HttpHeader', name, value } satisfies HttpHeader);
        break;
      }
      case 3 * 8 + WIRE_LEN:
        m.body = input.bytes();
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}

function sizeInvocationResult(m: InvocationResult, plan: Plan): number {
  let size = stringSize(m.callId) + bytesSize(m.result);
  if (m.functionError) size += nested(plan, () => sizeFunctionError(m.functionError!));
  size += doubleSize(m.durationSeconds) + uint64Size(m.functionVersion) + stringSize(m.sandboxId) + boolSize(m.coldStart) + bytesSize(m.logTail);
  if (m.httpResponse) size += nested(plan, (p) => sizeHttpResponse(m.httpResponse!, p));
  return size;
}

function writeInvocationResult(out: Writer, m: InvocationResult): void {
  out.string(1, m.callId);
  out.bytes(2, m.result);
  if (m.functionError) {
    out.message(3);
    writeFunctionError(out, m.functionError);
  }
  out.double(4, m.durationSeconds);
  out.uint64(5, m.functionVersion);
  out.string(6, m.sandboxId);
  out.bool(7, m.coldStart);
  out.bytes(8, m.logTail);
  if (m.httpResponse) {
    out.message(9);
    writeHttpResponse(out, m.httpResponse);
  }
}

function readInvocationResult(input: In): InvocationResult {
  const m: InvocationResult = {
    $typeName: 'faas.v1.InvocationResult',
    callId: '',
    result: EMPTY,
    durationSeconds: 0,
    functionVersion: 0n,
    sandboxId: '',
    coldStart: false,
    logTail: EMPTY,
  };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_LEN:
        m.callId = input.string();
        break;
      case 2 * 8 + WIRE_LEN:
        m.result = input.bytes();
        break;
      case 3 * 8 + WIRE_LEN:
        m.functionError = readFunctionError(input.nested());
        break;
      case 4 * 8 + WIRE_FIXED64:
        m.durationSeconds = input.double();
        break;
      case 5 * 8 + WIRE_VARINT:
        m.functionVersion = input.varint64();
        break;
      case 6 * 8 + WIRE_LEN:
        m.sandboxId = input.string();
        break;
      case 7 * 8 + WIRE_VARINT:
        m.coldStart = input.varint() !== 0;
        break;
      case 8 * 8 + WIRE_LEN:
        m.logTail = input.bytes();
        break;
      case 9 * 8 + WIRE_LEN:
        m.httpResponse = readHttpResponse(input.nested());
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}

// ---- CallOutcome, CallFailure ---------------------------------------------------

function sizeCallFailure(m: CallFailure): number {
  return stringSize(m.code) + stringSize(m.message) + uintSize(m.retryAfterMs);
}

function readCallFailure(input: In): CallFailure {
  const m: CallFailure = { $typeName: 'faas.v1.CallFailure', code: '', message: '', retryAfterMs: 0 };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_LEN:
        m.code = input.string();
        break;
      case 2 * 8 + WIRE_LEN:
        m.message = input.string();
        break;
      case 3 * 8 + WIRE_VARINT:
        m.retryAfterMs = input.varint();
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}

function sizeCallOutcome(m: CallOutcome, plan: Plan): number {
  let size = uintSize(m.id);
  if (m.result) size += nested(plan, (p) => sizeInvocationResult(m.result!, p));
  if (m.failure) size += nested(plan, () => sizeCallFailure(m.failure!));
  size += boolSize(m.sandboxLost);
  if (m.lease) size += delegated(plan, LeaseSchema, m.lease);
  return size;
}

function writeCallOutcome(out: Writer, m: CallOutcome): void {
  out.uint(1, m.id);
  if (m.result) {
    out.message(2);
    writeInvocationResult(out, m.result);
  }
  if (m.failure) {
    out.message(3);
    out.string(1, m.failure.code);
    out.string(2, m.failure.message);
    out.uint(3, m.failure.retryAfterMs);
  }
  out.bool(4, m.sandboxLost);
  if (m.lease) out.blob(5);
}

function readCallOutcome(input: In): CallOutcome {
  const m: CallOutcome = { $typeName: 'faas.v1.CallOutcome', id: 0, sandboxLost: false };
  while (input.more) {
    const tag = input.varint();
    const wire = tag & 7;
    switch ((tag >>> 3) * 8 + wire) {
      case 1 * 8 + WIRE_VARINT:
        m.id = input.varint();
        break;
      case 2 * 8 + WIRE_LEN:
        m.result = readInvocationResult(input.nested());
        break;
      case 3 * 8 + WIRE_LEN:
        m.failure = readCallFailure(input.nested());
        break;
      case 4 * 8 + WIRE_VARINT:
        m.sandboxLost = input.varint() !== 0;
        break;
      case 5 * 8 + WIRE_LEN:
        m.lease = fromBinary(LeaseSchema, input.bytes()) as Lease;
        break;
      default:
        input.skip(wire);
    }
  }
  return m;
}

// ---- repeated uint32 (packed on the wire, as proto3 writes them) ---------------

function packedSize(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let length = 0;
  for (const value of values) length += varintSize(value);
  return lenFieldSize(length);
}

function writePacked(out: Writer, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  let length = 0;
  for (const value of values) length += varintSize(value);
  out.tag(field, WIRE_LEN);
  out.varint(length);
  for (const value of values) out.varint(value);
}

/** Packed or not: a reader accepts both. */
function readUint32s(input: In, wire: number, into: number[]): void {
  if (wire === WIRE_VARINT) {
    into.push(input.varint());
    return;
  }
  const packed = input.nested();
  while (packed.more) into.push(packed.varint());
}

// ---- Funclet.Calls ----------------------------------------------------------------

function sizeSandboxCall(m: SandboxCall, plan: Plan): number {
  let size = uintSize(m.id) + stringSize(m.sandboxId);
  if (m.invocation) size += nested(plan, (p) => sizeInvocation(m.invocation!, p));
  size += uintSize(m.timeoutMs);
  if (m.function) size += delegated(plan, FunctionConfigSchema, m.function);
  return size + stringSize(m.traceparent) + stringSize(m.tracestate);
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
}

function readSandboxCall(input: In): SandboxCall {
  const m: SandboxCall = { $typeName: 'faas.v1.SandboxCall', id: 0, sandboxId: '', timeoutMs: 0, traceparent: '', tracestate: '' };
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
