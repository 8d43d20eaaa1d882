import { LeaseRenewalSchema, create, type Lease, type LeaseRenewal } from '@faas/protocol';

/** A lease as its holder keeps it: the grant plus what the holder does with it. */
export interface HeldLease {
  readonly id: string;
  readonly functionName: string;
  /** Which controller granted it (an index the holder gave): renewals go back there. */
  readonly grantedBy: number;
  funcletAddress: string;
  sandboxId: string;
  slots: number;
  timeoutMs: number;
  /** When the holder stops trusting it unless renewed. */
  expiresAtMs: number;
  /** Calls on the sandbox through this lease, not yet over on the wire. */
  inFlight: number;
  /** Most calls at once since the last renewal: the slots asked for next. */
  peak: number;
  /** Renewal rounds in a row with no call at all. */
  idleRounds: number;
  /** The controller wants it back: no new calls; released once its calls end. */
  revoked: boolean;
}

export interface LeaseTableOptions {
  /** Renewal rounds without a call after which a lease is given back. */
  readonly idleRounds: number;
  /** Subtracted from a lease's time to live: a lease is never used in its last moments. */
  readonly safetyMarginMs: number;
  /** A lease to give back at once (revoked and drained): sent to its controller without waiting for the next round. */
  readonly release: (renewal: LeaseRenewal, grantedBy: number) => void;
  readonly now?: () => number;
}

/**
 * The leases one edge holds, by function: picks one with a free slot for a
 * call, counts calls in and out, and says what to renew or give back.
 */
export class LeaseTable {
  private readonly byFunction = new Map<string, HeldLease[]>();
  private readonly byId = new Map<string, HeldLease>();
  private readonly now: () => number;

  constructor(private readonly options: LeaseTableOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.byId.size;
  }

  /** A lease of `functionName` with a free slot, and the call counted on it; undefined when none. */
  take(functionName: string): HeldLease | undefined {
    const leases = this.byFunction.get(functionName);
    if (!leases) return undefined;
    const now = this.now();
    for (const held of leases) {
      if (held.revoked || held.inFlight >= held.slots || held.expiresAtMs <= now) continue;
      held.inFlight += 1;
      if (held.inFlight > held.peak) held.peak = held.inFlight;
      return held;
    }
    return undefined;
  }

  /** A call taken on `held` is over on the wire. */
  done(held: HeldLease): void {
    held.inFlight -= 1;
    if (held.revoked && held.inFlight === 0) this.giveBack(held, false);
  }

  /** A grant or a renewal from controller `grantedBy`. */
  upsert(lease: Lease, grantedBy = 0): void {
    const expiresAtMs = this.now() + lease.ttlMs - this.options.safetyMarginMs;
    const known = this.byId.get(lease.leaseId);
    if (known) {
      known.slots = lease.slots;
      known.expiresAtMs = expiresAtMs;
      known.funcletAddress = lease.funcletAddress;
      known.sandboxId = lease.sandboxId;
      known.timeoutMs = lease.timeoutMs;
      return;
    }
    const held: HeldLease = {
      id: lease.leaseId,
      functionName: lease.functionName,
      grantedBy,
      funcletAddress: lease.funcletAddress,
      sandboxId: lease.sandboxId,
      slots: lease.slots,
      timeoutMs: lease.timeoutMs,
      expiresAtMs,
      inFlight: 0,
      peak: 0,
      idleRounds: 0,
      revoked: false,
    };
    this.byId.set(held.id, held);
    const leases = this.byFunction.get(held.functionName);
    if (leases) leases.push(held);
    else this.byFunction.set(held.functionName, [held]);
  }

  /** Sandboxes held per function (qualified name), leases not revoked: what the edge's metrics call a function's replicas. */
  sandboxesByFunction(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [name, leases] of this.byFunction) {
      const live = leases.filter((held) => !held.revoked).length;
      if (live > 0) counts.set(name, live);
    }
    return counts;
  }

  /** The sandboxes held for one function (qualified name), with their calls in flight. */
  sandboxesOf(functionName: string): Array<{ sandboxId: string; inFlight: number; slots: number }> {
    return (this.byFunction.get(functionName) ?? []).filter((held) => !held.revoked).map((held) => ({ sandboxId: held.sandboxId, inFlight: held.inFlight, slots: held.slots }));
  }

  /** The controller wants these back: no new calls on them; each goes back once drained. */
  revoke(leaseIds: readonly string[]): void {
    for (const id of leaseIds) {
      const held = this.byId.get(id);
      if (!held || held.revoked) continue;
      held.revoked = true;
      if (held.inFlight === 0) this.giveBack(held, false);
    }
  }

  /** The funclet no longer has the sandbox: forget the lease and tell the controller. */
  sandboxGone(held: HeldLease): void {
    if (this.byId.get(held.id) !== held) return;
    this.giveBack(held, true);
  }

  /** Every lease on a funclet that went away: gone with it. */
  funcletGone(address: string): void {
    for (const held of [...this.byId.values()]) if (held.funcletAddress === address) this.giveBack(held, true);
  }

  /** Leases a newer deploy made stale (the edge's own write): given back as soon as they drain. */
  functionChanged(functionName: string): void {
    this.revoke((this.byFunction.get(functionName) ?? []).map((held) => held.id));
  }

  /**
   * One renewal round: each lease used since the last round keeps the most
   * slots it used at once; one idle for `idleRounds` rounds goes back. Each
   * renewal comes with the controller it goes to.
   */
  renewals(): Array<{ renewal: LeaseRenewal; grantedBy: number }> {
    const renewals: Array<{ renewal: LeaseRenewal; grantedBy: number }> = [];
    for (const held of [...this.byId.values()]) {
      if (held.revoked) continue;
      const used = Math.max(held.peak, held.inFlight);
      held.idleRounds = used === 0 ? held.idleRounds + 1 : 0;
      held.peak = held.inFlight;
      const slots = held.idleRounds >= this.options.idleRounds ? 0 : Math.max(1, used);
      if (slots === 0) this.forget(held);
      renewals.push({ renewal: create(LeaseRenewalSchema, { leaseId: held.id, slots }), grantedBy: held.grantedBy });
    }
    return renewals;
  }

  /** Everything held, forgotten (the controller that granted it is gone). */
  clear(): void {
    this.byId.clear();
    this.byFunction.clear();
  }

  private giveBack(held: HeldLease, sandboxGone: boolean): void {
    this.forget(held);
    this.options.release(create(LeaseRenewalSchema, { leaseId: held.id, slots: 0, sandboxGone }), held.grantedBy);
  }

  private forget(held: HeldLease): void {
    this.byId.delete(held.id);
    const leases = this.byFunction.get(held.functionName);
    if (!leases) return;
    const index = leases.indexOf(held);
    if (index >= 0) leases.splice(index, 1);
    if (leases.length === 0) this.byFunction.delete(held.functionName);
  }
}
