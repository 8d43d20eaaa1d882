import { IDLE_TIMEOUT_SECONDS, withDefault, type FunctionConfig } from '@faas/protocol';
import type { Creation, FunctionInitFailed, LeaseRecord, SandboxRecord } from './books.js';
import { WaitQueue } from './wait-queue.js';

/** What a waiting call is handed: a slot (as a lease), a place on a sandbox being made, or the right to make one. */
export type Grant =
  | { readonly kind: 'lease'; readonly lease: LeaseRecord }
  | { readonly kind: 'join'; readonly creation: Creation }
  | { readonly kind: 'create'; readonly creation: Creation };

/**
 * Everything placement knows about one function: its sandboxes, the ones
 * being made, the calls waiting, and the limits of its latest version.
 * Counts slots; makes no decisions of its own.
 */
export class FunctionPool {
  latestVersion = 0n;
  /** The latest config seen, to make sandboxes without a call asking (reserved concurrency). */
  config: FunctionConfig | undefined;
  /** Calls at once over all sandboxes, of every controller. */
  maxConcurrency = 1;
  /** Calls at once per sandbox. */
  perSandbox = 1;
  /** Slots kept warm however idle. */
  reservedConcurrency = 0;
  idleTimeoutMs = IDLE_TIMEOUT_SECONDS.default * 1000;
  /**
   * Slots of the limit other controllers' sandboxes hold, as last learnt
   * from the concurrency book; 0 until a reservation fell short.
   */
  heldElsewhere = 0;
  /**
   * Other controllers whose calls wait for slots of this function, until
   * when their last word holds. While any does, this controller keeps no
   * more than its fair share and idle sandboxes go instead of waiting for
   * their idle timeout.
   */
  private readonly wantedBy = new Map<string, number>();
  /** When a call of this function last had to wait here. */
  lastWaitMs = 0;
  /** Slots all controllers' reservations hold, as last asked (only for functions with reserved concurrency). */
  heldByAll: number | undefined;
  heldAskedAtMs = 0;
  /** A sandbox is being made to keep the reserve warm; one at a time per function. */
  warming = false;
  /** When keeping the reserve warm last failed: tried again only after a pause, never in a tight loop. */
  warmFailedAtMs = 0;
  /** A version whose sandboxes failed to start `count` times in a row: no cold start of it before `untilMs`. */
  startFailures: { readonly version: bigint; readonly count: number; readonly untilMs: number; readonly error: FunctionInitFailed } | undefined;
  readonly sandboxes = new Set<SandboxRecord>();
  readonly creations = new Set<Creation>();
  /** Slots of revoked leases not yet given back. */
  slotsComingBack = 0;
  /** Calls waiting for room, by the version they want. */
  readonly waiters = new WaitQueue<bigint, Grant>();

  /** Adopts a config at least as new as any seen; true when its version is newer. */
  observe(fn: FunctionConfig): boolean {
    if (fn.version < this.latestVersion) return false;
    const newer = fn.version > this.latestVersion;
    this.latestVersion = fn.version;
    this.config = fn;
    this.maxConcurrency = Math.max(1, fn.maxConcurrency);
    this.perSandbox = Math.max(1, fn.concurrencyPerSandbox);
    this.reservedConcurrency = Math.min(fn.reservedConcurrency, this.maxConcurrency);
    this.idleTimeoutMs = withDefault(fn.idleTimeoutSeconds, IDLE_TIMEOUT_SECONDS) * 1000;
    return newer;
  }

  /**
   * Slots held or promised: by leases on its sandboxes, and on sandboxes
   * being made. Kept by placement as it changes them, so no call counts
   * them over.
   */
  usedSlots = 0;

  get hasRoomForACall(): boolean {
    return this.usedSlots < this.maxConcurrency;
  }

  /** Slots of this controller's sandboxes, made and being made: its share of the limit. */
  get ownSlots(): number {
    let slots = 0;
    for (const sandbox of this.sandboxes) slots += sandbox.slots;
    for (const creation of this.creations) slots += creation.slots;
    return slots;
  }

  /** Another sandbox may be made: a call's worth of room, and slots of the limit that no sandbox holds. */
  get mayCreate(): boolean {
    return this.hasRoomForACall && this.ownSlots + this.heldElsewhere < this.maxConcurrency;
  }

  /** Controller `from` said its calls wait for slots of this function. */
  noteWanted(from: string, untilMs: number): void {
    this.wantedBy.set(from, untilMs);
  }

  /** How many other controllers wait for slots of this function now. */
  othersWanting(now: number): number {
    for (const [from, untilMs] of this.wantedBy) if (untilMs <= now) this.wantedBy.delete(from);
    return this.wantedBy.size;
  }

  /**
   * The slots this controller may hold: the whole limit, or an equal part
   * of it while other controllers wait too (at least a sandbox's worth), so
   * that no controller's calls starve behind another's steady load.
   */
  fairShare(now: number): number {
    const others = this.othersWanting(now);
    if (others === 0) return this.maxConcurrency;
    return Math.min(this.maxConcurrency, Math.max(this.perSandbox, Math.floor(this.maxConcurrency / (others + 1))));
  }

  get unused(): boolean {
    return this.sandboxes.size === 0 && this.creations.size === 0 && this.waiters.length === 0;
  }

  /**
   * A sandbox of `version` with a free slot: the busiest one that has room,
   * so load packs onto few sandboxes and the others go idle and are swept.
   */
  sandboxWithRoom(version: bigint): SandboxRecord | undefined {
    if (!this.hasRoomForACall) return undefined;
    let best: SandboxRecord | undefined;
    for (const sandbox of this.sandboxes) {
      if (sandbox.version !== version || sandbox.used + sandbox.untracked >= sandbox.slots) continue;
      if (!best || sandbox.used > best.used) best = sandbox;
    }
    return best;
  }

  /** A sandbox of `version` being made that has a slot nobody has claimed. */
  creationWithRoom(version: bigint): Creation | undefined {
    if (!this.hasRoomForACall) return undefined;
    for (const creation of this.creations) if (creation.version === version && creation.reserved < creation.slots) return creation;
    return undefined;
  }
}
