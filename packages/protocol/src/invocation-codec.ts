/**
 * Invocation, InvocationResult and CallOutcome (with their nested
 * messages) by hand: the parts every hot-path message carries.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { CallFailure, CallOutcome, Lease } from './gen/faas/v1/calls_pb.js';
import { LeaseSchema } from './gen/faas/v1/calls_pb.js';
import type { FunctionError } from './gen/faas/v1/function_pb.js';
import type { HttpHeader, HttpRequest, HttpResponse, Invocation, InvocationResult } from './gen/faas/v1/invocation_pb.js';
import { EMPTY, Writer, alwaysStringSize, boolSize, delegated, doubleSize, nested, uint64Size, type Plan } from './codec-plan.js';
import { In, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, bytesSize, stringSize, uintSize } from './wire-primitives.js';

// ---- Invocation, HttpRequest --------------------------------------------------

export function sizeHttpRequest(m: HttpRequest, plan: Plan): number {
  let size = stringSize(m.method) + stringSize(m.path) + stringSize(m.rawQuery);
  for (const key in m.headers) {
    const value = m.headers[key]!;
    size += nested(plan, () => alwaysStringSize(key) + alwaysStringSize(value));
  }
  for (const key in m.pathParameters) {
    const value = m.pathParameters[key]!;
    size += nested(plan, () => alwaysStringSize(key) + alwaysStringSize(value));
  }
  return size;
}

export function writeHttpRequest(out: Writer, m: HttpRequest): void {
  out.string(1, m.method);
  out.string(2, m.path);
  out.string(3, m.rawQuery);
  for (const key in m.headers) {
    out.message(4);
    out.stringAlways(1, key);
    out.stringAlways(2, m.headers[key]!);
  }
  for (const key in m.pathParameters) {
    out.message(5);
    out.stringAlways(1, key);
    out.stringAlways(2, m.pathParameters[key]!);
  }
}

export function sizeInvocation(m: Invocation, plan: Plan): number {
  let size = stringSize(m.functionName) + stringSize(m.callId) + uintSize(m.kind) + bytesSize(m.payload) + stringSize(m.contentType);
  if (m.http) size += nested(plan, (p) => sizeHttpRequest(m.http!, p));
  size += boolSize(m.wantLogTail);
  for (const key in m.cloudEventAttributes) {
    const value = m.cloudEventAttributes[key]!;
    size += nested(plan, () => alwaysStringSize(key) + alwaysStringSize(value));
  }
  return size;
}

export function writeInvocation(out: Writer, m: Invocation): void {
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
  for (const key in m.cloudEventAttributes) {
    out.message(8);
    out.stringAlways(1, key);
    out.stringAlways(2, m.cloudEventAttributes[key]!);
  }
}

export function readHttpRequest(input: In): HttpRequest {
  const m: HttpRequest = { $typeName: 'faas.v1.HttpRequest', method: '', path: '', rawQuery: '', headers: {}, pathParameters: {} };
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
      case 5: {
        const [key, value] = readStringPair(input.nested());
        m.pathParameters[key] = value;
        break;
      }
      default:
        input.skip(wire);
    }
  }
  return m;
}

/** A map<string, string> entry, or any message of two strings in fields 1 and 2. */
export function readStringPair(input: In): [string, string] {
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

export function readInvocation(input: In): Invocation {
  const m: Invocation = { $typeName: 'faas.v1.Invocation', functionName: '', callId: '', kind: 0, payload: EMPTY, contentType: '', wantLogTail: false, cloudEventAttributes: {} };
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
      case 8 * 8 + WIRE_LEN: {
        const [key, value] = readStringPair(input.nested());
        m.cloudEventAttributes[key] = value;
        break;
      }
      default:
        input.skip(wire);
    }
  }
  return m;
}

// ---- InvocationResult, HttpResponse, FunctionError ----------------------------

export function sizeFunctionError(m: FunctionError): number {
  return stringSize(m.type) + stringSize(m.message) + stringSize(m.stack);
}

export function writeFunctionError(out: Writer, m: FunctionError): void {
  out.string(1, m.type);
  out.string(2, m.message);
  out.string(3, m.stack);
}

export function readFunctionError(input: In): FunctionError {
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

export function sizeHttpResponse(m: HttpResponse, plan: Plan): number {
  let size = uintSize(m.status);
  for (const header of m.headers) size += nested(plan, () => stringSize(header.name) + stringSize(header.value));
  return size + bytesSize(m.body);
}

export function writeHttpResponse(out: Writer, m: HttpResponse): void {
  out.uint(1, m.status);
  for (const header of m.headers) {
    out.message(2);
    out.string(1, header.name);
    out.string(2, header.value);
  }
  out.bytes(3, m.body);
}

export function readHttpResponse(input: In): HttpResponse {
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

export function sizeInvocationResult(m: InvocationResult, plan: Plan): number {
  let size = stringSize(m.callId) + bytesSize(m.result);
  if (m.functionError) size += nested(plan, () => sizeFunctionError(m.functionError!));
  size += doubleSize(m.durationSeconds) + uint64Size(m.functionVersion) + stringSize(m.sandboxId) + boolSize(m.coldStart) + bytesSize(m.logTail);
  if (m.httpResponse) size += nested(plan, (p) => sizeHttpResponse(m.httpResponse!, p));
  return size;
}

export function writeInvocationResult(out: Writer, m: InvocationResult): void {
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

export function readInvocationResult(input: In): InvocationResult {
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

export function sizeCallFailure(m: CallFailure): number {
  return stringSize(m.code) + stringSize(m.message) + uintSize(m.retryAfterMs);
}

export function readCallFailure(input: In): CallFailure {
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

export function sizeCallOutcome(m: CallOutcome, plan: Plan): number {
  let size = uintSize(m.id);
  if (m.result) size += nested(plan, (p) => sizeInvocationResult(m.result!, p));
  if (m.failure) size += nested(plan, () => sizeCallFailure(m.failure!));
  size += boolSize(m.sandboxLost);
  if (m.lease) size += delegated(plan, LeaseSchema, m.lease);
  return size;
}

export function writeCallOutcome(out: Writer, m: CallOutcome): void {
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

export function readCallOutcome(input: In): CallOutcome {
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

