import type { TraceHeaders } from './call-span.js';

/**
 * The W3C trace context carried across a hop by hand: in NATS message
 * headers and gRPC metadata, as in our stream messages. Nothing here reads
 * an ambient "active" context (see explicit-context.ts).
 */
export function readTraceHeaders(get: (key: string) => string | undefined | null): TraceHeaders {
  const traceparent = get('traceparent') || undefined;
  const tracestate = (traceparent && get('tracestate')) || undefined;
  return { traceparent, tracestate };
}

export function writeTraceHeaders(trace: TraceHeaders | undefined, set: (key: string, value: string) => void): void {
  if (!trace?.traceparent) return;
  set('traceparent', trace.traceparent);
  if (trace.tracestate) set('tracestate', trace.tracestate);
}
