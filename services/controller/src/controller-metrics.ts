/** The controller's series: its wait queues and the sandboxes it places calls on. */
import { metrics } from '@faas/telemetry';
import type { Placement } from './placement.js';

export const waitQueueLength = metrics.gauge('faas_wait_queue_length', 'calls waiting for a sandbox or a slot to make one', ['function']);
export const waitSeconds = metrics.histogram('faas_wait_seconds', 'how long queued calls waited, by outcome (granted, refused)', ['function', 'outcome']);
export const placedSandboxes = metrics.gauge('faas_controller_sandboxes', 'sandboxes this controller places calls on', ['function']);

export function collectControllerMetrics(placement: Pick<Placement, 'poolStates'>): void {
  metrics.collect(() => {
    // Pools come and go with their functions: rebuilt at each scrape.
    waitQueueLength.reset();
    placedSandboxes.reset();
    for (const pool of placement.poolStates()) {
      waitQueueLength.get(pool.name).set(pool.waiting);
      placedSandboxes.get(pool.name).set(pool.sandboxes);
    }
  });
}
