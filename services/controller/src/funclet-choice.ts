import { PlatformError } from '@faas/errors';
import { runtimeFamily, type FunctionConfig } from '@faas/protocol';
import type { SandboxRecord } from './books.js';
import type { FuncletInfo } from './funclet-port.js';

/**
 * Which funclet a new sandbox goes to: one that runs the function's runtime
 * and has the most free memory, counting what its last report cannot know
 * yet (sandboxes made since) and what is being made on it now, so that a
 * burst spreads over the funclets.
 */
export class FuncletChoice {
  /** Memory of creations under way, per funclet id. */
  private readonly pendingMb = new Map<string, number>();

  constructor(private readonly sandboxesOn: (funcletId: string) => Iterable<SandboxRecord>) {}

  /** Funclets able to run the function, most free memory first. */
  order(fn: FunctionConfig, live: readonly FuncletInfo[]): FuncletInfo[] {
    // A funclet announcing "custom" runs every registered "custom:<name>" runtime.
    const runtime = runtimeFamily(fn.runtime);
    return live
      .filter((funclet) => funclet.runtimes.length === 0 || funclet.runtimes.includes(runtime))
      .map((funclet) => ({ funclet, free: this.freeMb(funclet) }))
      .sort((a, b) => b.free - a.free)
      .map(({ funclet }) => funclet);
  }

  /**
   * Picks the funclet for a new sandbox of `fn` and counts its memory there
   * at once; `release` gives it back when the creation is over.
   */
  reserve(fn: FunctionConfig, live: readonly FuncletInfo[]): { funclet: FuncletInfo; release: () => void } {
    if (live.length === 0) throw new PlatformError('no_funclets', 'no funclet is registered and alive');
    const [best] = this.order(fn, live);
    if (!best) throw new PlatformError('no_funclets', `no live funclet runs the ${fn.runtime} runtime`);
    // A funclet reporting no total does not limit by memory.
    if (best.memoryMbTotal > 0 && this.freeMb(best) < fn.memoryMb) {
      throw new PlatformError('too_many_requests', `no funclet has ${fn.memoryMb} MiB free for another sandbox of ${fn.name}`);
    }
    this.addPending(best.id, fn.memoryMb);
    let held = true;
    return {
      funclet: best,
      release: () => {
        if (!held) return;
        held = false;
        this.addPending(best.id, -fn.memoryMb);
      },
    };
  }

  private freeMb(funclet: FuncletInfo): number {
    let sinceReport = 0;
    for (const sandbox of this.sandboxesOn(funclet.id)) {
      if (sandbox.createdAtMs > funclet.seenAtMs) sinceReport += sandbox.memoryMb;
    }
    return funclet.memoryMbTotal - funclet.memoryMbUsed - sinceReport - (this.pendingMb.get(funclet.id) ?? 0);
  }

  private addPending(funcletId: string, memoryMb: number): void {
    const total = (this.pendingMb.get(funcletId) ?? 0) + memoryMb;
    if (total > 0) this.pendingMb.set(funcletId, total);
    else this.pendingMb.delete(funcletId);
  }
}
