/** The funclet's series: cold starts, the pool, sandboxes by state, memory. */
import { metrics } from '@faas/telemetry';
import type { SandboxManager } from './sandbox-manager.js';
import { SUPPORTED_RUNTIMES } from './runtimes.js';

const MIB = 1024 * 1024;

export const coldStarts = metrics.counter('faas_cold_starts_total', 'sandboxes specialised for a function, by runtime and whether a pool sandbox was ready', ['function', 'runtime', 'from_pool']);
export const coldStartSeconds = metrics.histogram('faas_cold_start_seconds', 'from the request for a sandbox to its function loaded', ['function', 'runtime']);
export const poolReady = metrics.gauge('faas_pool_sandboxes', 'generic sandboxes booted and waiting, per runtime', ['runtime']);
export const poolTarget = metrics.gauge('faas_pool_target', 'how many generic sandboxes the pool keeps per runtime', ['runtime']);
export const sandboxesByState = metrics.gauge('faas_sandboxes', 'specialised sandboxes by function and state (busy, idle)', ['function', 'state']);
export const memoryCapacity = metrics.gauge('faas_funclet_memory_capacity_bytes', 'memory this funclet gives to sandboxes');
export const memoryUsed = metrics.gauge('faas_funclet_memory_used_bytes', 'memory held by specialised sandboxes');

/** States are read when Prometheus asks, not kept up to date on every change. */
export function collectFuncletMetrics(manager: SandboxManager): void {
  metrics.collect(() => {
    for (const runtime of SUPPORTED_RUNTIMES) {
      poolReady.get(runtime).set(manager.pool.readyCount(runtime));
      poolTarget.get(runtime).set(manager.pool.target(runtime));
    }
    memoryCapacity.get().set(manager.memoryMbTotal * MIB);
    memoryUsed.get().set(manager.memoryMbUsed * MIB);
    // Sandboxes come and go: the family is rebuilt so a gone function's series goes too.
    sandboxesByState.reset();
    for (const state of manager.states()) sandboxesByState.get(state.functionName, state.inFlight > 0 ? 'busy' : 'idle').inc();
  });
}
