/**
 * One server span per HTTP request, child of the caller's `traceparent`.
 * Made by two callback hooks rather than by OpenTelemetry's http
 * instrumentation, whose per-request context binding cost the edge more
 * than the rest of an invocation; the span's context is handed on
 * explicitly (to the invoker and on to the funclet and the handler).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SpanStatusCode, spansRecorded, startCallSpan, trace, type Span, type TraceHeaders } from '@faas/telemetry';

const tracer = trace.getTracer('httptrigger');

interface RequestTrace {
  readonly span: Span;
  readonly next: TraceHeaders;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's span and the context to hand on. */
    trace: RequestTrace | undefined;
  }
}

export function traceRequests(app: FastifyInstance): void {
  app.decorateRequest('trace', undefined);
  if (!spansRecorded()) {
    // Nothing is recorded: the caller's own trace context is what goes on.
    app.addHook('onRequest', (request, _reply, done) => {
      const traceparent = single(request.raw.headers.traceparent);
      if (traceparent) request.trace = startCallSpan(tracer, 'unrecorded', { traceparent, tracestate: single(request.raw.headers.tracestate) });
      done();
    });
    return;
  }
  app.addHook('onRequest', (request, _reply, done) => {
    const headers = request.raw.headers;
    const route = request.routeOptions.url ?? 'unknown route';
    request.trace = startCallSpan(
      tracer,
      `${request.method} ${route}`,
      { traceparent: single(headers.traceparent), tracestate: single(headers.tracestate) },
      { 'http.request.method': request.method, 'http.route': route },
    );
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const requestTrace = request.trace;
    if (requestTrace) {
      requestTrace.span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) requestTrace.span.setStatus({ code: SpanStatusCode.ERROR });
      requestTrace.span.end();
    }
    done();
  });
}

/** The request span's context, for the next hop to continue. */
export function traceOf(request: FastifyRequest): TraceHeaders | undefined {
  return request.trace?.next;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
