import { InvocationKind, type Invocation, type InvocationResult } from '@faas/protocol';
import { spansRecorded } from '@faas/telemetry';
import type { CallResult, SandboxCall } from './sandbox/sandbox.js';

/** An invocation as a sandbox runs it, with the trace context its handler continues. */
export function sandboxCall(invocation: Invocation, trace: { traceparent?: string; tracestate?: string }): Omit<SandboxCall, 'callId'> & { callId?: string } {
  const http = invocation.http;
  return {
    wantLogTail: invocation.wantLogTail,
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
    callId: invocation.callId,
    kind: invocation.kind === InvocationKind.HTTP ? 'http' : 'event',
    payload: invocation.payload,
    contentType: invocation.contentType,
    http: http && { method: http.method, path: http.path, rawQuery: http.rawQuery, headers: http.headers, pathParameters: http.pathParameters },
    cloudEvent: nonEmpty(invocation.cloudEventAttributes),
    recordSpans: trace.traceparent !== undefined && spansRecorded() ? true : undefined,
  };
}

/** Most calls are no CloudEvent: their header to the agent then carries no attributes at all. */
function nonEmpty(attributes: Readonly<Record<string, string>>): Readonly<Record<string, string>> | undefined {
  for (const _ in attributes) return attributes;
  return undefined;
}

/** A sandbox's result as the InvocationResult message callers get (a literal with every field: this runs for every call). */
export function invocationResult(result: CallResult): InvocationResult {
  const error = result.functionError;
  return {
    $typeName: 'faas.v1.InvocationResult',
    callId: result.callId,
    result: result.result,
    functionError: error && { $typeName: 'faas.v1.FunctionError', type: error.type, message: error.message, stack: error.stack ?? '' },
    durationSeconds: result.durationSeconds,
    functionVersion: result.functionVersion,
    sandboxId: result.sandboxId,
    coldStart: result.coldStart,
    logTail: result.logTail ?? EMPTY,
    httpResponse: result.httpResponse,
  };
}

const EMPTY = new Uint8Array(0);
