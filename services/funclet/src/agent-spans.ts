/** The spans sandboxes report (their agent's and their handlers'), recorded as this funclet's. */
import { recordReportedSpans, trace } from '@faas/telemetry';
import type { SpansHeader } from './agent/wire.js';

const tracer = trace.getTracer('funclet-agent');

export function recordAgentSpans(header: SpansHeader): void {
  if (Array.isArray(header?.spans)) recordReportedSpans(tracer, header.spans);
}
