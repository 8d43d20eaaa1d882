export { createLogger, type Logger } from './logger.js';
export { readTraceHeaders, writeTraceHeaders } from './propagation.js';
export { spansRecorded, startCallSpan, type TraceHeaders } from './call-span.js';
export { startTelemetry, stopTelemetry } from './sdk.js';
export { recordReportedSpans, type ReportedSpan } from './reported-spans.js';
export { trace, SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
export { onShutdownSignal, settlesWithin } from './lifecycle.js';
export { DURATION_BUCKETS, MetricFamily, MetricRegistry, PROMETHEUS_CONTENT_TYPE, metrics, metricsEnabled, serveMetrics, type CounterSeries, type GaugeSeries, type HistogramSeries } from './metrics/index.js';
