import { ROOT_CONTEXT, SpanKind, propagation, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';

/** W3C trace context as it travels in our stream messages and agent frames. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

/**
 * A span for one call that arrived on a long-lived stream, where no
 * instrumentation sees calls one by one: child of the caller's context
 * (`parent`, from the message), and the context to hand on to the next hop.
 * With a sampler that drops the trace it costs next to nothing.
 */
export function startCallSpan(tracer: Tracer, name: string, parent: TraceHeaders, attributes?: Attributes): { span: Span; next: TraceHeaders } {
  const parentContext = parent.traceparent
    ? propagation.extract(ROOT_CONTEXT, parent, {
        get: (carrier, key) => (key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : undefined),
        keys: () => ['traceparent', 'tracestate'],
      })
    : ROOT_CONTEXT;
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parentContext);
  const next: TraceHeaders = {};
  propagation.inject(trace.setSpan(parentContext, span), next, {
    set: (carrier, key, value) => {
      if (key === 'traceparent') carrier.traceparent = value;
      else if (key === 'tracestate') carrier.tracestate = value;
    },
  });
  return { span, next };
}
