export { createLogger, type Logger } from './logger.js';
export { extractTraceContext, injectTraceContext, type HeaderReader, type HeaderWriter } from './propagation.js';
export { startCallSpan, type TraceHeaders } from './call-span.js';
export { startTelemetry, stopTelemetry } from './sdk.js';
export { context, trace, propagation, SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
