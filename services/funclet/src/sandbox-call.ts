import { InvocationKind, InvocationResultSchema, create, type Invocation, type InvocationResult } from '@faas/protocol';
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
    http: http && { method: http.method, path: http.path, rawQuery: http.rawQuery, headers: http.headers },
  };
}

/** A sandbox's result as the InvocationResult message callers get. */
export function invocationResult(result: CallResult): InvocationResult {
  return create(InvocationResultSchema, {
    ...result,
    functionError: result.functionError && { ...result.functionError, stack: result.functionError.stack ?? '' },
  });
}
