import { context, propagation, type Context } from '@opentelemetry/api';

/** The part of a header map (NATS headers, plain objects) we need. */
export interface HeaderWriter {
  set(key: string, value: string): void;
}
export interface HeaderReader {
  get(key: string): string | undefined | null;
}

/**
 * NATS has no OpenTelemetry instrumentation, so the trace context is carried
 * across it by hand: the publisher injects `traceparent` into the message
 * headers and the consumer continues the trace from them.
 */
export function injectTraceContext(headers: HeaderWriter, from: Context = context.active()): void {
  propagation.inject(from, headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}

export function extractTraceContext(headers: HeaderReader, into: Context = context.active()): Context {
  return propagation.extract(into, headers, {
    get: (carrier, key) => carrier.get(key) || undefined,
    keys: () => ['traceparent', 'tracestate', 'baggage'],
  });
}
