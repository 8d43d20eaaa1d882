import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, propagation, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';

/** W3C trace context as it travels in our stream messages and agent frames. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

let recording = false;

/** Whether spans are recorded at all (sdk.ts decides at start: an exporter, or a sampler asked for). */
export function setSpansRecorded(value: boolean): void {
  recording = value;
}

export function spansRecorded(): boolean {
  return recording;
}

/** Stands in for every span while nothing is recorded: all its methods do nothing. */
const UNRECORDED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * A span for one call that arrived on a long-lived stream, where no
 * instrumentation sees calls one by one: child of the caller's context
 * (`parent`, from the message), and the context to hand on to the next hop.
 * While nothing is recorded it makes no span and hands the caller's own
 * context on, so the trace id still reaches the handler at no cost.
 */
export function startCallSpan(tracer: Tracer, name: string, parent: TraceHeaders, attributes?: Attributes): { span: Span; next: TraceHeaders } {
  if (!recording) return { span: UNRECORDED, next: parent };
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
