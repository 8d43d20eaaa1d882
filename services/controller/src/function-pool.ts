import type { FunctionConfig } from '@faas/protocol';
import type { Creation, LeaseRecord, SandboxRecord } from './books.js';
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
  /** Calls at once over all sandboxes. */
  maxConcurrency = 1;
  /** Calls at once per sandbox. */
  perSandbox = 1;
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
    this.maxConcurrency = Math.max(1, fn.maxConcurrency);
    this.perSandbox = Math.max(1, fn.concurrencyPerSandbox);
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

  /** Another sandbox may be made: a call's worth of room, and fewer sandboxes than the limit needs. */
  get mayCreate(): boolean {
    const sandboxes = this.sandboxes.size + this.creations.size;
    return this.hasRoomForACall && sandboxes < Math.ceil(this.maxConcurrency / this.perSandbox);
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
      if (sandbox.version !== version || sandbox.used >= sandbox.slots) continue;
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
