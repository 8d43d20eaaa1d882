/**
 * The `context` a Node handler receives (Lambda's field names, so handlers
 * written for it read what they expect). Node builtins only.
 */
import { unrecordedSpan, type CallSpans, type HandlerSpan } from './call-spans.js';
import type { InvokeHeader } from './wire.js';

export interface FunctionIdentity {
  readonly functionName: string;
  readonly version: string;
  readonly memoryMb: number;
}

export interface HandlerContext {
  readonly callId: string;
  /** Lambda's name for the call id. */
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly memoryLimitInMB: number;
  /** W3C `traceparent` of the platform span serving this call ('' without tracing). */
  readonly traceparent: string;
  readonly tracestate: string;
  /** The CloudEvent's attributes (`id`, `source`, `type`, `specversion`, extensions...) when the event came as one; its data is the event. */
  readonly cloudEvent: Readonly<Record<string, string>> | undefined;
  /** Lambda compatibility: results go back when the handler settles, never earlier. */
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  /**
   * Opens a span, child of the platform's span for this call; `end()` it.
   * Recorded (by the funclet, the sandbox has no network) when the platform
   * exports traces; otherwise it costs nothing and records nothing.
   */
  startSpan(name: string, attributes?: Record<string, string | number | boolean>): HandlerSpan;
}

export function buildContext(header: InvokeHeader, fn: FunctionIdentity, now: () => number = Date.now, spans?: CallSpans): HandlerContext {
  return {
    callId: header.callId,
    awsRequestId: header.callId,
    functionName: fn.functionName,
    functionVersion: fn.version,
    memoryLimitInMB: fn.memoryMb,
    traceparent: header.traceparent ?? '',
    tracestate: header.tracestate ?? '',
    cloudEvent: header.cloudEvent,
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, header.deadlineMs - now()),
    startSpan: spans ? (name, attributes) => spans.startSpan(name, undefined, attributes) : () => unrecordedSpan(header.traceparent ?? ''),
  };
}
