/**
 * The edge's series: every invocation by function, route kind and outcome,
 * under our names and under OpenFaaS's gateway names so its dashboards and
 * alerts work unchanged. Counted once per answer, in place (no label objects).
 */
import { metrics } from '@faas/telemetry';

export const invocations = metrics.counter('faas_invocations_total', 'invocations answered by the edge, by function, route kind (event, http, async) and outcome (ok, function_error, queued, or a platform error code)', ['function', 'kind', 'outcome']);
export const invocationSeconds = metrics.histogram('faas_invocation_duration_seconds', 'time from the request to its answer at the edge', ['function', 'kind', 'outcome']);
export const invocationColdStarts = metrics.counter('faas_invocation_cold_starts_total', 'invocations that waited for a new sandbox', ['function']);
export const gatewayInvocations = metrics.counter('gateway_function_invocation_total', 'OpenFaaS gateway name: invocations by function and HTTP status', ['function_name', 'code']);
export const gatewaySeconds = metrics.histogram('gateway_functions_seconds', 'OpenFaaS gateway name: invocation duration by function and HTTP status', ['function_name', 'code']);
export const gatewayServiceCount = metrics.gauge('gateway_service_count', 'OpenFaaS gateway name: sandboxes this edge holds leases on, per function', ['function_name']);

/** Read at scrape time from the invoker's lease table. */
export function collectEdgeMetrics(leasedSandboxes: () => ReadonlyMap<string, number>): void {
  metrics.collect(() => {
    gatewayServiceCount.reset();
    for (const [name, count] of leasedSandboxes()) gatewayServiceCount.get(name).set(count);
  });
}
