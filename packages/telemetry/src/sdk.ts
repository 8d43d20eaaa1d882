import { NodeSDK } from '@opentelemetry/sdk-node';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { setSpansRecorded, spansRecorded } from './call-span.js';
import { ExplicitContextManager } from './explicit-context.js';
import { idGenerator } from './reported-spans.js';

let sdk: NodeSDK | undefined;

/**
 * Starts the OpenTelemetry SDK from the standard OTEL_* variables. With no
 * exporter configured, spans are not exported but trace context still
 * flows through HTTP, stream messages, gRPC metadata and NATS headers, so
 * adding a collector later needs only environment variables. The sampler
 * follows OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  if (sdk || /^true$/i.test(env.OTEL_SDK_DISABLED ?? '')) return;
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  // The SDK defaults to an OTLP exporter that retries against localhost
  // forever; without an endpoint that is wasted work on every span.
  env.OTEL_TRACES_EXPORTER ??= exporting ? 'otlp' : 'none';
  // Nothing would be exported: record nothing. The callers' trace context
  // still flows through every hop, and a sampler set by OTEL_TRACES_SAMPLER wins.
  setSpansRecorded(exporting || env.OTEL_TRACES_SAMPLER !== undefined);
  if (!exporting) env.OTEL_TRACES_SAMPLER ??= 'always_off';
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';

  // gRPC for the control calls (a client and a server span each). Not
  // http: its per-request context binding cost the edge more than the rest
  // of an invocation, so httptrigger makes its request spans itself. The
  // hot path's calls carry their trace context in their messages
  // (startCallSpan), so no async context manager is needed, nor its cost.
  // Nothing recorded, nothing to instrument: the trace context our hops carry explicitly still flows.
  const instrumentations = spansRecorded() ? [new GrpcInstrumentation()] : [];
  // Spans reported by sandboxes keep the ids they were given there (reported-spans.ts).
  sdk = new NodeSDK({ instrumentations, contextManager: new ExplicitContextManager(), idGenerator });
  sdk.start();

  const stop = () => {
    void sdk?.shutdown().catch(() => undefined);
  };
  process.once('beforeExit', stop);
}

/** Flushes spans; services call it during graceful shutdown. */
export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}
