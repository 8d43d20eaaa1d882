import type { FunctionConfig } from '@faas/protocol';
import type { FuncletPort } from './funclet-port.js';
import type { Placement, PlacementLog } from './placement.js';

/** How many funclets get a deployed function's code ahead of its first call. */
const PREFETCH_FUNCLETS = 2;
const PREFETCH_BUDGET_MS = 60_000;

/**
 * Asks the funclets where the function's next sandboxes would go to fetch
 * its code now, so its first call does not wait for the download. Best
 * effort: a failure only means the first call fetches the code itself.
 */
export async function prefetchCode(fn: FunctionConfig, deps: { placement: Placement; funclets: Pick<FuncletPort, 'prefetchCode'>; log: PlacementLog }): Promise<void> {
  const digests = [fn.codeDigest, fn.runtimeCodeDigest].filter((digest): digest is string => Boolean(digest));
  if (digests.length === 0) return;
  const targets = deps.placement.likelyFunclets(fn).slice(0, PREFETCH_FUNCLETS);
  await Promise.all(
    targets.map((funclet) =>
      deps.funclets.prefetchCode(funclet, digests, { deadlineMs: Date.now() + PREFETCH_BUDGET_MS }).catch((error: unknown) =>
        deps.log.debug({ funclet: funclet.id, function: fn.name, err: (error as Error).message }, 'code prefetch failed'),
      ),
    ),
  );
}
