import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { spansRecorded } from './call-span.js';

/**
 * A span that ran somewhere that cannot export (a sandbox has no network):
 * its ids were chosen there, so work it handed its traceparent on to stays
 * its child. The process that hears of it records it as it was.
 */
export interface ReportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** Epoch milliseconds. */
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes?: Attributes;
  /** Set when the work failed: the span's status message. */
  readonly error?: string;
}

const SPAN_ID = /^[0-9a-f]{16}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * Hands the SDK's id generator the span id to use next. Span ids are asked
 * for synchronously inside startSpan, so a preset taken by the next request
 * cannot go to anyone else's span.
 */
class PresettableIdGenerator {
  presetSpanId: string | undefined;
  private readonly random = new tracing.RandomIdGenerator();

  generateTraceId(): string {
    return this.random.generateTraceId();
  }

  generateSpanId(): string {
    const preset = this.presetSpanId;
    if (!preset) return this.random.generateSpanId();
    this.presetSpanId = undefined;
    return preset;
  }
}

export const idGenerator = new PresettableIdGenerator();

/** Records spans reported from elsewhere, ids as given; malformed ones are dropped (they came from user code's process). */
export function recordReportedSpans(tracer: Tracer, spans: readonly ReportedSpan[]): void {
  if (!spansRecorded()) return;
  for (const reported of spans) {
    if (!TRACE_ID.test(reported.traceId) || !SPAN_ID.test(reported.spanId) || !SPAN_ID.test(reported.parentSpanId)) continue;
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: reported.traceId, spanId: reported.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    idGenerator.presetSpanId = reported.spanId;
    const span = tracer.startSpan(String(reported.name).slice(0, 256), { kind: SpanKind.INTERNAL, startTime: reported.startMs, attributes: reported.attributes }, parent);
    idGenerator.presetSpanId = undefined;
    if (reported.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: String(reported.error) });
    span.end(Math.max(reported.startMs, reported.endMs));
  }
}
