export { createLogger, type Logger } from './logger.js';
export { extractTraceContext, injectTraceContext, type HeaderReader, type HeaderWriter } from './propagation.js';
export { startTelemetry, stopTelemetry } from './sdk.js';
export { context, trace, propagation, SpanStatusCode, type Span } from '@opentelemetry/api';
