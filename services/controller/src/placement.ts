/**
 * Where calls run (docs/design.md "Scheduling", "Streams and leases"): a
 * free slot on a warm sandbox of the function's version, else a place on a
 * sandbox being made, else a new sandbox on the funclet with the most free
 * memory while the function's limits allow, else a FIFO wait with a
 * deadline. Every slot in use is held by a lease; the controller's own last
 * one relayed call, and a call's lease can be handed to the edge that made
 * it, which then calls the sandbox directly and renews its leases in bulk.
 * Keeps the books; speaks no gRPC.
 */
import { randomUUID } from 'node:crypto';
import { PlatformError } from '@faas/errors';
import { qualifiedNameOf, type FunctionConfig, type LeaseRenewal, type SandboxReport } from '@faas/protocol';
import { FunctionInitFailed, type Creation, type LeaseHolder, type LeaseRecord, type SandboxRecord } from './books.js';
import type { ConcurrencyBook } from './concurrency-book.js';
import { FuncletChoice } from './funclet-choice.js';
import type { FuncletInfo, FuncletPort } from './funclet-port.js';
import { FunctionPool, type Grant } from './function-pool.js';
import { waitSeconds } from './controller-metrics.js';

export interface PlacementLimits {
  readonly queueTimeoutMs: number;
  readonly maxQueue: number;
  /** How long an edge's lease lasts unless renewed. */
  readonly leaseTtlMs: number;
}

export interface Membership {
  /** Funclets attached now. */
  live(): readonly FuncletInfo[];
}

/** What the controllers tell each other about a function's limit (pub/sub; a lost message costs a wait, never a breach). */
export interface SlotSignals {
  /** Calls here wait for slots of the function that other controllers' sandboxes hold. */
  wanted(functionName: string): void;
  /** A reservation of the function was given back. */
  freed(functionName: string): void;
}

export interface PlacementLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  debug(object: object, message: string): void;
}

export interface PlacementDeps {
  /** Names this controller as the owner of the sandboxes it makes. */
  readonly controllerId: string;
  readonly funclets: Pick<FuncletPort, 'createSandbox' | 'destroySandbox' | 'disconnect'>;
  readonly membership: Membership;
  readonly book: ConcurrencyBook;
  readonly signals: SlotSignals;
  readonly limits: PlacementLimits;
  readonly log: PlacementLog;
  readonly now?: () => number;
}

export interface PlaceOptions {
  /** Absolute deadline (ms since epoch); Infinity for none. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

/** A sandbox being made for the call that got this ticket: the call carries the function to the funclet. */
export interface CreationTicket {
  readonly funclet: FuncletInfo;
  /** The owner and reservation the funclet records with the sandbox, and the calls at once it admits. */
  readonly owner: string;
  readonly reservation: string;
  readonly slots: number;
  /**
   * The funclet announced the sandbox: the creating call's lease (the calls
   * waiting on it get theirs). Undefined when the creation was already given
   * up (the caller left): the sandbox is then destroyed.
   */
  created(sandboxId: string): LeaseRecord | undefined;
  /** The call ended without a sandbox: a FunctionInitFailed, or a platform failure. */
  failed(error: Error): void;
}

export type Placed = { readonly kind: 'warm'; readonly lease: LeaseRecord } | { readonly kind: 'create'; readonly ticket: CreationTicket };

/** The controller's own leases: each lasts one call, relayed through the controller. */
export const CONTROLLER_HOLDER: LeaseHolder = { id: 'controller', revoke() {} };

const DESTROY_SANDBOX_BUDGET_MS = 5_000;
/** A sandbox missing from its funclet's report is gone, unless it was made just now (the report may predate it). */
const REPORT_GRACE_MS = 3_000;
/** How long a sandbox is left without an owner before others claim it: its own controller may be reconnecting. */
const CLAIM_DELAY_MS = 1_000;
/** A sandbox reported as ours that the books do not know is destroyed after this (a creation given up, say). */
const STRAY_GRACE_MS = 5_000;
/** How often the reservations of our sandboxes are kept; a fraction of the book's TTL. */
export const KEEP_RESERVATIONS_MS = 3_000;
/** A function whose calls waited here this recently keeps its idle sandboxes for itself. */
const RECENT_WAIT_MS = 1_000;
/** How often the slots of a function with reserved concurrency are counted over all controllers. */
const HELD_ASKED_EVERY_MS = 1_000;
/** The pause after keeping a reserve warm failed. */
const WARM_RETRY_MS = 10_000;
/** Longest a sandbox made for the reserve may take. */
const WARM_BUDGET_MS = 60_000;
/** The first pause of a function's cold starts after its sandbox failed to start, and the longest. */
const START_FAILURE_PAUSE_MS = 1_000;
const START_FAILURE_PAUSE_MAX_MS = 30_000;
/** What a call refused at a function's limit is told to wait before trying again. */
const RETRY_AFTER_MS = 1_000;
/** How long another controller's word that its calls wait for slots holds (it repeats it every few hundred ms while they do). */
const WANTED_FOR_MS = 2_000;
/** A sandbox another call was making could not be made (not its function's fault): place again. */
class CreationLost extends Error {
  override readonly name = 'CreationLost';
}

export class Placement {
  private readonly pools = new Map<string, FunctionPool>();
  /** Sandboxes per funclet id, to forget them all when the funclet goes. */
  private readonly byFunclet = new Map<string, Set<SandboxRecord>>();
  private readonly leases = new Map<string, LeaseRecord>();
  private readonly choice = new FuncletChoice((funcletId) => this.byFunclet.get(funcletId) ?? []);
  /** Lease ids are unique to this controller's run; another controller knows none of them. */
  private readonly leasePrefix = randomUUID().slice(0, 8);
  private leaseCounter = 0;
  /** Per funclet, the sandboxes we claimed (→ when): adopted when a report shows them ours. */
  private readonly claims = new Map<string, Map<string, number>>();
  /** Per funclet, the sandboxes its last report called ours that the books do not hold (→ first seen). */
  private readonly strays = new Map<string, Map<string, number>>();
  private lastKeptMs = 0;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: PlacementDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A slot for one call of `fn`, held by the controller's own lease (or a ticket to make the sandbox). */
  async acquire(fn: FunctionConfig, options: PlaceOptions): Promise<Placed> {
    if (this.closed) throw new PlatformError('service_unavailable', 'the controller is shutting down');
    const pool = this.poolFor(fn);
    this.refuseWhileFailingToStart(pool, fn);
    let grant: Grant | undefined;
    for (;;) {
      if (options.signal?.aborted) throw new PlatformError('deadline_exceeded', 'the caller gave up');
      const next = grant ?? this.takeRoom(pool, fn.version);
      grant = undefined;
      try {
        switch (next?.kind) {
          case 'lease':
            return { kind: 'warm', lease: next.lease };
          case 'join':
            return { kind: 'warm', lease: await this.join(pool, next.creation, options) };
          case 'create':
            return { kind: 'create', ticket: await this.startCreation(pool, fn, next.creation) };
        }
      } catch (error) {
        if (error instanceof CreationLost) continue;
        throw error;
      }
      grant = await this.waitForRoom(pool, fn, options);
    }
  }

  /** The slots of `lease` are free again (its call ended, or its holder gave it back). */
  release(lease: LeaseRecord): void {
    this.setSlots(lease, 0);
  }

  /**
   * The funclet refused a call on the lease's sandbox as full: it runs calls
   * these books do not count (an edge's, still running after their caller
   * gave up). No call goes there until its next report says how many.
   */
  releaseBusy(lease: LeaseRecord): void {
    const sandbox = lease.sandbox;
    sandbox.untracked = Math.max(sandbox.untracked, sandbox.slots - (sandbox.used - lease.slots));
    this.release(lease);
  }

  /**
   * Hands the controller's lease of a call that just ended to `holder` (an
   * edge), for its next calls to go direct; merged into the holder's lease
   * on the same sandbox. Undefined (and the slot freed) when the sandbox
   * should not get more calls this way: a newer version exists, or calls are
   * waiting for room.
   */
  transfer(lease: LeaseRecord, holder: LeaseHolder): LeaseRecord | undefined {
    if (!this.leases.has(lease.id)) return undefined;
    const sandbox = lease.sandbox;
    const pool = this.pools.get(sandbox.functionName);
    if (!pool || !pool.sandboxes.has(sandbox) || sandbox.version < pool.latestVersion || pool.waiters.length > 0 || this.yieldsSlots(pool)) {
      this.release(lease);
      return undefined;
    }
    const expiresAtMs = this.now() + this.deps.limits.leaseTtlMs;
    for (const held of sandbox.leases) {
      if (held.holder !== holder || held.revoked) continue;
      held.slots += lease.slots;
      held.expiresAtMs = expiresAtMs;
      this.forgetLease(lease);
      return held;
    }
    lease.holder = holder;
    lease.expiresAtMs = expiresAtMs;
    return lease;
  }

  /**
   * An edge's renewal round: each lease keeps the slots it asks for (never
   * more than it had) and a new time to live, goes back with 0, or takes its
   * sandbox off the books when the funclet said it is gone. Leases this
   * controller does not know (it restarted) come back as `unknown`.
   */
  renew(holder: LeaseHolder, renewals: readonly LeaseRenewal[]): { renewed: LeaseRecord[]; unknown: string[] } {
    const renewed: LeaseRecord[] = [];
    const unknown: string[] = [];
    const expiresAtMs = this.now() + this.deps.limits.leaseTtlMs;
    for (const renewal of renewals) {
      const lease = this.leases.get(renewal.leaseId);
      if (!lease || lease.holder !== holder) {
        if (renewal.slots > 0) unknown.push(renewal.leaseId);
        continue;
      }
      if (renewal.sandboxGone) {
        this.discard(lease.sandbox, { destroy: true, reason: 'its funclet no longer runs it' });
        continue;
      }
      this.setSlots(lease, Math.min(renewal.slots, lease.slots));
      if (lease.slots > 0) {
        lease.expiresAtMs = expiresAtMs;
        renewed.push(lease);
      }
    }
    return { renewed, unknown };
  }

  /** An edge's stream ended: whatever it held is free. */
  holderGone(holder: LeaseHolder): void {
    for (const lease of [...this.leases.values()]) if (lease.holder === holder) this.release(lease);
  }

  /** A config newer than any seen (a deploy's notice): older sandboxes drain, their leases are revoked. */
  observe(fn: FunctionConfig): void {
    this.poolFor(fn);
  }

  /** The function was deleted: its sandboxes drain and go. */
  functionGone(name: string): void {
    const pool = this.pools.get(name);
    if (!pool) return;
    this.pools.delete(name);
    pool.waiters.failAll(new PlatformError('function_not_found', `function "${name}" was deleted`));
    for (const sandbox of [...pool.sandboxes]) this.retire(sandbox);
  }

  /**
   * Takes a sandbox off the books (lost, broken, stale or recycled), revokes
   * its leases, and asks its funclet to destroy it when it may still exist.
   */
  discard(sandbox: SandboxRecord, { destroy, reason, keepReservation = false }: { destroy: boolean; reason: string; keepReservation?: boolean }): void {
    if (sandbox.forgotten) return;
    sandbox.forgotten = true;
    this.byFunclet.get(sandbox.funclet.id)?.delete(sandbox);
    const pool = this.pools.get(sandbox.functionName);
    const counted = pool?.sandboxes.delete(sandbox) ?? false;
    if (pool && counted) pool.usedSlots -= sandbox.used;
    const revoked = new Map<LeaseHolder, string[]>();
    for (const lease of sandbox.leases) {
      this.leases.delete(lease.id);
      if (pool && counted && lease.revoked) pool.slotsComingBack -= lease.slots;
      else if (!lease.revoked) revoked.set(lease.holder, [...(revoked.get(lease.holder) ?? []), lease.id]);
    }
    for (const [holder, ids] of revoked) holder.revoke(ids);
    sandbox.leases.clear();
    sandbox.used = 0;
    this.deps.log.debug({ sandbox: sandbox.id, function: sandbox.functionName, version: String(sandbox.version), reason }, 'sandbox discarded');
    if (destroy) void this.destroy(sandbox);
    // A sandbox another controller took over keeps its reservation: that controller keeps it now.
    if (!keepReservation) this.releaseReservation(sandbox.functionName, sandbox.reservation, sandbox.slots);
    if (pool) this.offerRoom(pool);
  }

  /** The funclet restarted, went silent or cannot be reached: its sandboxes are gone. */
  forgetFunclet(funcletId: string, reason: string): void {
    const sandboxes = this.byFunclet.get(funcletId);
    if (!sandboxes) {
      this.claims.delete(funcletId);
      this.strays.delete(funcletId);
      return;
    }
    this.byFunclet.delete(funcletId);
    this.claims.delete(funcletId);
    this.strays.delete(funcletId);
    const funclet = [...sandboxes][0]?.funclet;
    this.deps.log.warn({ funclet: funcletId, sandboxes: sandboxes.size, reason }, 'forgetting the sandboxes of a funclet');
    for (const sandbox of sandboxes) this.discard(sandbox, { destroy: false, reason });
    if (funclet) this.deps.funclets.disconnect(funclet);
  }

  /**
   * A funclet's report of its sandboxes, which is the truth: the books drop
   * ours that it no longer runs and those another controller took over,
   * and learn the calls on ours that no lease of ours covers. Returns the
   * sandboxes to claim (nobody's: ours whose owner mark our broken stream
   * cost, and others' after a moment) and those now ours to adopt.
   */
  applyReport(funclet: FuncletInfo, reported: readonly SandboxReport[]): { claim: string[]; adopt: SandboxReport[] } {
    const me = this.deps.controllerId;
    const now = this.now();
    const booked = new Map([...(this.byFunclet.get(funclet.id) ?? [])].map((sandbox) => [sandbox.id, sandbox]));
    const claims = this.claims.get(funclet.id) ?? new Map<string, number>();
    const strays = this.strays.get(funclet.id);
    const stillStrays = new Map<string, number>();
    const claim: string[] = [];
    const adopt: SandboxReport[] = [];
    for (const report of reported) {
      const sandbox = booked.get(report.sandboxId);
      booked.delete(report.sandboxId);
      if (report.owner === me) {
        if (sandbox) this.noteUntracked(sandbox, Math.max(0, report.inFlight - sandbox.used));
        else if (claims.delete(report.sandboxId)) adopt.push(report);
        else this.noteStray(funclet, report, strays?.get(report.sandboxId) ?? now, stillStrays);
      } else if (report.owner === '') {
        if (this.closed || (!sandbox && report.unownedMs < CLAIM_DELAY_MS)) continue;
        claim.push(report.sandboxId);
        claims.set(report.sandboxId, now);
      } else if (sandbox) {
        this.discard(sandbox, { destroy: false, keepReservation: true, reason: `controller ${report.owner} took it over` });
      }
    }
    for (const sandbox of booked.values()) {
      if (now - sandbox.createdAtMs > REPORT_GRACE_MS) this.discard(sandbox, { destroy: false, reason: 'its funclet no longer runs it' });
    }
    for (const [id, atMs] of claims) if (now - atMs > STRAY_GRACE_MS) claims.delete(id);
    this.keepPerFunclet(this.claims, funclet.id, claims);
    this.keepPerFunclet(this.strays, funclet.id, stillStrays);
    return { claim, adopt };
  }

  /**
   * Takes over a sandbox its funclet granted us: its slots, its reservation,
   * and the calls still running on it under its former owner's leases.
   */
  adopt(funclet: FuncletInfo, report: SandboxReport, fn: FunctionConfig | undefined): void {
    if (this.closed || [...(this.byFunclet.get(funclet.id) ?? [])].some((sandbox) => sandbox.id === report.sandboxId)) return;
    if (!fn) {
      this.deps.log.info({ sandbox: report.sandboxId, function: report.functionName }, 'destroying an adopted sandbox of a deleted function');
      this.destroyUnbooked(funclet, report);
      return;
    }
    const pool = this.poolFor(fn);
    const now = this.now();
    const sandbox = this.addSandbox(pool, {
      id: report.sandboxId,
      funclet,
      functionName: qualifiedNameOf(fn),
      version: report.functionVersion,
      memoryMb: report.memoryMb,
      timeoutMs: fn.timeoutSeconds * 1000,
      slots: Math.max(1, report.concurrency),
      reservation: report.reservation,
      createdAtMs: now,
      used: 0,
      untracked: report.inFlight,
      idleSinceMs: now - report.idleMs,
      forgotten: false,
      leases: new Set(),
    });
    this.deps.log.info({ sandbox: sandbox.id, function: qualifiedNameOf(fn), version: String(sandbox.version), funclet: funclet.id, inFlight: report.inFlight }, 'adopted a sandbox');
    if (sandbox.version < pool.latestVersion) this.retire(sandbox);
    else this.offerRoom(pool);
  }

  /** The function's config could not be had: the next report adopts the sandbox instead of taking it for a stray. */
  adoptLater(funclet: FuncletInfo, report: SandboxReport): void {
    const claims = this.claims.get(funclet.id) ?? new Map<string, number>();
    claims.set(report.sandboxId, this.now());
    this.claims.set(funclet.id, claims);
  }

  /** Periodic housekeeping: expire unrenewed leases, sweep idle sandboxes, keep our reservations, ask for slots again. */
  async maintain(): Promise<void> {
    this.expireLeases();
    this.sweepIdle();
    this.askForSlotsAgain();
    this.keepReservesWarm();
    if (this.now() - this.lastKeptMs >= KEEP_RESERVATIONS_MS) {
      this.lastKeptMs = this.now();
      await this.keepReservations();
    }
  }

  /** Leases whose holder stopped renewing them (it died, or lost its stream) are freed. */
  expireLeases(): void {
    const now = this.now();
    for (const lease of [...this.leases.values()]) if (lease.expiresAtMs <= now) this.release(lease);
  }

  /**
   * Destroys sandboxes idle for longer than their function's idle timeout
   * (at once while another controller wants the slots), keeping the
   * function's reserved concurrency warm, and drops empty pools.
   */
  sweepIdle(): void {
    const now = this.now();
    for (const [name, pool] of this.pools) this.sweepPool(name, pool, now);
  }

  /** One pool's part of sweepIdle. */
  private sweepPool(name: string, pool: FunctionPool, now: number): void {
    // The longest idle go first; the reserve (counted over every controller's sandboxes) stays.
    const idle = [...pool.sandboxes].filter((sandbox) => this.isIdle(sandbox)).sort((a, b) => a.idleSinceMs - b.idleSinceMs);
    for (const sandbox of idle) {
      if (sandbox.idleSinceMs > now - pool.idleTimeoutMs && !this.yieldsSlots(pool)) break;
      const held = pool.heldByAll ?? pool.ownSlots;
      if (pool.reservedConcurrency > 0 && held - sandbox.slots < pool.reservedConcurrency) continue;
      if (pool.heldByAll !== undefined) pool.heldByAll -= sandbox.slots;
      this.discard(sandbox, { destroy: true, reason: 'idle' });
    }
    if (pool.unused && pool.reservedConcurrency === 0) this.pools.delete(name);
  }

  /**
   * Functions with reserved concurrency: learn what every controller holds
   * (once a second), and make a sandbox without a call while that is less
   * than the reserve. One sandbox at a time per function; a failure pauses
   * the function's warming rather than retrying in a loop.
   */
  private keepReservesWarm(): void {
    const now = this.now();
    for (const [name, pool] of this.pools) {
      if (pool.reservedConcurrency === 0 || !pool.config || pool.warming || this.closed) continue;
      if (now - pool.heldAskedAtMs >= HELD_ASKED_EVERY_MS) {
        pool.heldAskedAtMs = now;
        this.deps.book.held(name).then(
          (held) => (pool.heldByAll = held),
          () => {},
        );
      }
      const held = pool.heldByAll;
      if (held === undefined || held >= pool.reservedConcurrency || now - pool.warmFailedAtMs < WARM_RETRY_MS) continue;
      pool.warming = true;
      void this.warmOne(pool, pool.config, pool.reservedConcurrency - held).finally(() => (pool.warming = false));
    }
  }

  private async warmOne(pool: FunctionPool, fn: FunctionConfig, missing: number): Promise<void> {
    let releaseMemory = () => {};
    let reservation: { id: string; slots: number } | undefined;
    try {
      const chosen = this.choice.reserve(fn, this.deps.membership.live());
      releaseMemory = chosen.release;
      const granted = await this.deps.book.reserve(qualifiedNameOf(fn), pool.maxConcurrency, Math.min(pool.perSandbox, missing));
      if (granted.slots === 0) return;
      reservation = { id: granted.id, slots: granted.slots };
      const made = await this.deps.funclets.createSandbox(
        chosen.funclet,
        { fn: granted.slots === fn.concurrencyPerSandbox ? fn : { ...fn, concurrencyPerSandbox: granted.slots }, owner: this.deps.controllerId, reservation: granted.id },
        { deadlineMs: this.now() + WARM_BUDGET_MS },
      );
      if ('initError' in made) throw new Error(`the function does not load: ${made.initError.type}: ${made.initError.message}`);
      if (this.closed || this.pools.get(qualifiedNameOf(fn)) !== pool || fn.version < pool.latestVersion) {
        void this.deps.funclets.destroySandbox(chosen.funclet, made.sandboxId, { deadlineMs: this.now() + DESTROY_SANDBOX_BUDGET_MS }).catch(() => {});
        this.releaseReservation(qualifiedNameOf(fn), granted.id, granted.slots);
        return;
      }
      const now = this.now();
      this.addSandbox(pool, {
        id: made.sandboxId,
        funclet: chosen.funclet,
        functionName: qualifiedNameOf(fn),
        version: fn.version,
        memoryMb: fn.memoryMb,
        timeoutMs: fn.timeoutSeconds * 1000,
        slots: granted.slots,
        reservation: granted.id,
        createdAtMs: now,
        used: 0,
        untracked: 0,
        idleSinceMs: now,
        forgotten: false,
        leases: new Set(),
      });
      pool.heldByAll = (pool.heldByAll ?? 0) + granted.slots;
      this.deps.log.info({ sandbox: made.sandboxId, function: qualifiedNameOf(fn), slots: granted.slots }, 'made a sandbox to keep the reserved concurrency warm');
      this.offerRoom(pool);
    } catch (error) {
      pool.warmFailedAtMs = this.now();
      if (reservation) this.releaseReservation(qualifiedNameOf(fn), reservation.id, reservation.slots);
      this.deps.log.warn({ function: qualifiedNameOf(fn), err: (error as Error).message }, 'cannot keep the reserved concurrency warm; trying again later');
    } finally {
      releaseMemory();
    }
  }

  /**
   * Controller `from` waits for slots of the function. Ours above our fair
   * share go as soon as they are idle (all idle ones, unless our own calls
   * waited lately), and edges holding leases beyond it are asked for them.
   */
  onSlotsWanted(functionName: string, from: string): void {
    const pool = this.pools.get(functionName);
    if (!pool) return;
    const now = this.now();
    pool.noteWanted(from, now + WANTED_FOR_MS);
    const excess = pool.ownSlots - pool.fairShare(now);
    if (excess > 0) this.askForSlotsBack(pool, pool.waiters.length + excess);
    this.sweepPool(functionName, pool, now);
  }

  /** Another controller gave slots back: calls waiting here try for them. */
  onSlotsFreed(functionName: string): void {
    const pool = this.pools.get(functionName);
    if (!pool || pool.heldElsewhere === 0) return;
    pool.heldElsewhere = 0;
    this.offerRoom(pool);
  }

  /** Calls on a sandbox of ours that no lease covers, as its report says; room that came back goes to the waiters. */
  private noteUntracked(sandbox: SandboxRecord, untracked: number): void {
    const fewer = untracked < sandbox.untracked;
    sandbox.untracked = untracked;
    const pool = this.pools.get(sandbox.functionName);
    if (fewer && pool?.sandboxes.has(sandbox)) this.offerRoom(pool);
  }

  /** Sandboxes on the books, for tests and introspection. */
  sandboxes(): SandboxRecord[] {
    return [...this.pools.values()].flatMap((pool) => [...pool.sandboxes]);
  }

  /** The funclets a new sandbox of `fn` would go to, best first (for code prefetch). */
  likelyFunclets(fn: FunctionConfig): FuncletInfo[] {
    return this.choice.order(fn, this.deps.membership.live());
  }

  /**
   * Stops placing and fails the waiters. The sandboxes stay, with their
   * reservations: once this controller's streams end their funclets offer
   * them to the other controllers (or to this one's successor), and destroy
   * those nobody claims.
   */
  close(): void {
    this.closed = true;
    const shuttingDown = new PlatformError('service_unavailable', 'the controller is shutting down');
    for (const pool of this.pools.values()) pool.waiters.failAll(shuttingDown);
    for (const sandbox of this.sandboxes()) sandbox.forgotten = true;
    this.pools.clear();
    this.byFunclet.clear();
    this.leases.clear();
  }

  // ---- the pieces of acquire ---------------------------------------------

  private poolFor(fn: FunctionConfig): FunctionPool {
    let pool = this.pools.get(qualifiedNameOf(fn));
    if (!pool) {
      pool = new FunctionPool();
      this.pools.set(qualifiedNameOf(fn), pool);
    }
    if (pool.observe(fn)) {
      for (const sandbox of [...pool.sandboxes]) if (sandbox.version < pool.latestVersion) this.retire(sandbox);
    }
    // A redeploy may have raised the limits: waiters may go now.
    this.offerRoom(pool);
    return pool;
  }

  /** What a call may have right now, without waiting: a slot, a place on a sandbox being made, or a creation. */
  private takeRoom(pool: FunctionPool, version: bigint): Grant | undefined {
    const sandbox = pool.sandboxWithRoom(version);
    if (sandbox) return { kind: 'lease', lease: this.takeSlot(pool, sandbox) };
    const creation = pool.creationWithRoom(version);
    if (creation) {
      creation.reserved += 1;
      pool.usedSlots += 1;
      return { kind: 'join', creation };
    }
    if (pool.mayCreate && pool.ownSlots < pool.fairShare(this.now())) {
      // On the books before its funclet is chosen (an await), so that the calls arriving meanwhile join it.
      const creation: Creation = { version, slots: pool.perSandbox, reserved: 1, joiners: [] };
      pool.creations.add(creation);
      pool.usedSlots += 1;
      return { kind: 'create', creation };
    }
    return undefined;
  }

  /**
   * A function version whose sandboxes keep failing to start is not started
   * again for a while (1 s, doubling to 30 s): its calls get the last init
   * error at once, instead of a cold start each that fails the same way.
   */
  private refuseWhileFailingToStart(pool: FunctionPool, fn: FunctionConfig): void {
    const failures = pool.startFailures;
    if (!failures || failures.version !== fn.version || this.now() >= failures.untilMs) return;
    if (pool.sandboxWithRoom(fn.version)) return;
    throw failures.error;
  }

  private noteStartFailure(pool: FunctionPool, fn: FunctionConfig, error: FunctionInitFailed): void {
    const count = pool.startFailures?.version === fn.version ? pool.startFailures.count + 1 : 1;
    const pauseMs = Math.min(START_FAILURE_PAUSE_MAX_MS, START_FAILURE_PAUSE_MS * 2 ** (count - 1));
    pool.startFailures = { version: fn.version, count, untilMs: this.now() + pauseMs, error };
    if (count >= 3) {
      this.deps.log.warn({ function: qualifiedNameOf(fn), version: String(fn.version), failures: count, pauseMs, initError: error.functionError.type }, 'the function keeps failing to start; pausing its cold starts');
    }
  }

  /** Capacity came free: hand it to the waiters, oldest first. */
  private offerRoom(pool: FunctionPool): void {
    if (pool.waiters.length === 0) return;
    pool.waiters.offer((version) => this.takeRoom(pool, version));
  }

  private async waitForRoom(pool: FunctionPool, fn: FunctionConfig, options: PlaceOptions): Promise<Grant> {
    if (pool.waiters.length >= this.deps.limits.maxQueue) {
      throw new PlatformError('too_many_requests', `${qualifiedNameOf(fn)} is at its concurrency limit (${pool.maxConcurrency}) and its wait queue is full`, {
        retryAfterMs: RETRY_AFTER_MS,
      });
    }
    this.askForSlotsBack(pool, pool.waiters.length + 1);
    pool.lastWaitMs = this.now();
    if (pool.heldElsewhere > 0) this.deps.signals.wanted(qualifiedNameOf(fn));
    const queueTimeoutMs = this.deps.limits.queueTimeoutMs;
    const callerMs = options.deadlineMs - this.now();
    // The queue's own deadline is the limit's answer (429); the caller's is the caller's (deadline_exceeded).
    const timedOut =
      queueTimeoutMs <= callerMs
        ? () => new PlatformError('too_many_requests', `${qualifiedNameOf(fn)} stayed at its concurrency limit (${pool.maxConcurrency}) for ${queueTimeoutMs} ms`, { retryAfterMs: RETRY_AFTER_MS })
        : undefined;
    const waiting = pool.waiters.wait(fn.version, Math.min(queueTimeoutMs, callerMs), options.signal, timedOut);
    const started = this.now();
    const name = qualifiedNameOf(fn);
    waiting.then(
      () => waitSeconds.get(name, 'granted').observe((this.now() - started) / 1000),
      () => waitSeconds.get(name, 'refused').observe((this.now() - started) / 1000),
    );
    return waiting;
  }

  /**
   * Calls are waiting while edges hold leases that may sit idle: revoke
   * enough of them to cover the waiters. Their holders give them back as
   * soon as their own calls on them end.
   */
  private askForSlotsBack(pool: FunctionPool, waiting: number): void {
    let needed = waiting - pool.slotsComingBack;
    for (const sandbox of pool.sandboxes) {
      for (const lease of sandbox.leases) {
        if (needed <= 0) return;
        if (lease.holder === CONTROLLER_HOLDER || lease.revoked) continue;
        lease.revoked = true;
        pool.slotsComingBack += lease.slots;
        needed -= lease.slots;
        lease.holder.revoke([lease.id]);
      }
    }
  }

  private takeSlot(pool: FunctionPool, sandbox: SandboxRecord): LeaseRecord {
    sandbox.used += 1;
    pool.usedSlots += 1;
    return this.newLease(sandbox, 1);
  }

  /** Waits for a sandbox being made to exist; its slot was reserved by takeRoom. */
  private join(pool: FunctionPool, creation: Creation, options: PlaceOptions): Promise<LeaseRecord> {
    return new Promise<LeaseRecord>((resolve, reject) => {
      const joiner = {
        resolve: (lease: LeaseRecord) => {
          settle();
          resolve(lease);
        },
        reject: (error: Error) => {
          settle();
          reject(error);
        },
      };
      const leave = (error: Error) => {
        const index = creation.joiners.indexOf(joiner);
        if (index < 0) return;
        creation.joiners.splice(index, 1);
        creation.reserved -= 1;
        pool.usedSlots -= 1;
        this.offerRoom(pool);
        joiner.reject(error);
      };
      const onAbort = () => leave(new PlatformError('deadline_exceeded', 'the caller gave up while its sandbox was being made'));
      const timer = Number.isFinite(options.deadlineMs)
        ? setTimeout(() => leave(new PlatformError('deadline_exceeded', 'the sandbox was not ready within the call\'s deadline')), Math.max(0, options.deadlineMs - this.now()))
        : undefined;
      const settle = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      creation.joiners.push(joiner);
    });
  }

  /**
   * Chooses the funclet for a creation takeRoom decided, reserves its slots
   * of the function's limit, and hands its call the ticket. Throws
   * CreationLost (the call places again, and waits) when other controllers'
   * sandboxes hold the whole limit.
   */
  private async startCreation(pool: FunctionPool, fn: FunctionConfig, creation: Creation): Promise<CreationTicket> {
    let over = false;
    let releaseMemory = () => {};
    const finish = () => {
      if (over) return false;
      over = true;
      pool.creations.delete(creation);
      releaseMemory();
      return true;
    };
    const failed = (error: Error) => {
      if (!finish()) return;
      if (error instanceof FunctionInitFailed) this.noteStartFailure(pool, fn, error);
      pool.usedSlots -= creation.reserved;
      if (creation.reservation) this.releaseReservation(qualifiedNameOf(fn), creation.reservation.id, creation.reservation.slots);
      const forJoiners = error instanceof FunctionInitFailed ? error : new CreationLost(error.message);
      for (const joiner of creation.joiners.splice(0)) joiner.reject(forJoiners);
      this.offerRoom(pool);
    };
    let funclet: FuncletInfo;
    let reservation: { id: string; slots: number };
    try {
      const reserved = this.choice.reserve(fn, this.deps.membership.live());
      funclet = reserved.funclet;
      releaseMemory = reserved.release;
      reservation = await this.reserveSlots(pool, fn, creation);
    } catch (error) {
      failed(error as Error);
      throw error;
    }
    creation.funclet = funclet;
    return {
      funclet,
      owner: this.deps.controllerId,
      reservation: reservation.id,
      slots: reservation.slots,
      created: (sandboxId) => {
        if (!finish()) {
          void this.deps.funclets.destroySandbox(funclet, sandboxId, { deadlineMs: this.now() + DESTROY_SANDBOX_BUDGET_MS }).catch(() => {});
          this.releaseReservation(qualifiedNameOf(fn), reservation.id, reservation.slots);
          return undefined;
        }
        const now = this.now();
        if (pool.startFailures?.version === fn.version) pool.startFailures = undefined;
        const sandbox = this.addSandbox(pool, {
          id: sandboxId,
          funclet,
          functionName: qualifiedNameOf(fn),
          version: fn.version,
          memoryMb: fn.memoryMb,
          timeoutMs: fn.timeoutSeconds * 1000,
          slots: creation.slots,
          reservation: reservation.id,
          createdAtMs: now,
          used: creation.reserved,
          untracked: 0,
          idleSinceMs: now,
          forgotten: false,
          leases: new Set(),
        });
        const lease = this.newLease(sandbox, 1);
        for (const joiner of creation.joiners.splice(0)) joiner.resolve(this.newLease(sandbox, 1));
        this.offerRoom(pool);
        return lease;
      },
      failed,
    };
  }

  /**
   * The creation's slots out of the function's limit. A grant short of
   * what the creation promised sends the calls beyond it back to place
   * again; none at all means the other controllers hold the limit.
   */
  private async reserveSlots(pool: FunctionPool, fn: FunctionConfig, creation: Creation): Promise<{ id: string; slots: number }> {
    const granted = await this.deps.book.reserve(qualifiedNameOf(fn), pool.maxConcurrency, creation.slots);
    // Learnt only from a grant that fell short: the book counts our own releases still under way, and a
    // full grant means nobody else is in the way now.
    pool.heldElsewhere = granted.slots < creation.slots ? Math.max(0, granted.heldBefore - this.reservedHere(pool, creation)) : 0;
    if (granted.slots === 0) throw new CreationLost(`other controllers' sandboxes hold all ${pool.maxConcurrency} calls of ${qualifiedNameOf(fn)}'s limit`);
    creation.reservation = { id: granted.id, slots: granted.slots };
    creation.slots = granted.slots;
    while (creation.reserved > creation.slots) {
      const joiner = creation.joiners.pop();
      if (!joiner) break;
      creation.reserved -= 1;
      pool.usedSlots -= 1;
      joiner.reject(new CreationLost('the sandbox got fewer slots than were promised'));
    }
    return creation.reservation;
  }

  /** Slots of the function's limit that this controller's reservations hold, `except` a creation. */
  private reservedHere(pool: FunctionPool, except?: Creation): number {
    let slots = 0;
    for (const sandbox of pool.sandboxes) if (sandbox.reservation) slots += sandbox.slots;
    for (const creation of pool.creations) if (creation !== except && creation.reservation) slots += creation.reservation.slots;
    return slots;
  }

  private releaseReservation(functionName: string, id: string, slots: number): void {
    if (!id) return;
    this.deps.book.release(functionName, id, slots).then(
      () => {
        this.deps.signals.freed(functionName);
        // Calls here that waited on a book still counting this reservation may go now.
        this.onSlotsFreed(functionName);
      },
      // It lapses on its own once nobody keeps it.
      (error: Error) => this.deps.log.debug({ function: functionName, err: error.message }, 'giving back a reservation failed'),
    );
  }

  /** Extends the reservations of our sandboxes; one that lapsed and no longer fits the limit costs its sandbox. */
  private async keepReservations(): Promise<void> {
    const held = this.sandboxes().filter((sandbox) => sandbox.reservation);
    if (held.length === 0) return;
    let lost: Set<string>;
    try {
      lost = await this.deps.book.keep(
        held.map((sandbox) => ({ functionName: sandbox.functionName, id: sandbox.reservation, slots: sandbox.slots, maxConcurrency: this.pools.get(sandbox.functionName)?.maxConcurrency ?? sandbox.slots })),
      );
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cannot keep the reservations of our sandboxes; trying again');
      return;
    }
    for (const sandbox of held) {
      if (lost.has(sandbox.reservation)) this.discard(sandbox, { destroy: true, keepReservation: true, reason: 'its reservation lapsed and the limit is full' });
    }
  }

  /** Pools whose calls wait on other controllers' slots: tell them again, and learn what is held now. */
  private askForSlotsAgain(): void {
    for (const [name, pool] of this.pools) {
      if (pool.waiters.length === 0 || pool.heldElsewhere === 0) continue;
      this.deps.signals.wanted(name);
      this.deps.book.held(name).then(
        (held) => {
          pool.heldElsewhere = Math.max(0, held - this.reservedHere(pool));
          this.offerRoom(pool);
        },
        () => {},
      );
    }
  }

  /** Per function: calls waiting and sandboxes placed on, for the metrics scrape. */
  *poolStates(): Iterable<{ readonly name: string; readonly waiting: number; readonly sandboxes: number }> {
    for (const [name, pool] of this.pools) yield { name, waiting: pool.waiters.length, sandboxes: pool.sandboxes.size };
  }

  /**
   * Idle sandboxes of the pool go now rather than at their idle timeout:
   * other controllers wait for slots, and this one holds more than its fair
   * share or has had no call waiting lately.
   */
  private yieldsSlots(pool: FunctionPool): boolean {
    const now = this.now();
    if (pool.othersWanting(now) === 0) return false;
    if (pool.ownSlots > pool.fairShare(now)) return true;
    return pool.waiters.length === 0 && now - pool.lastWaitMs >= RECENT_WAIT_MS;
  }

  private isIdle(sandbox: SandboxRecord): boolean {
    return sandbox.used === 0 && sandbox.untracked === 0;
  }

  /**
   * A sandbox reported as ours that the books do not hold: a creation whose
   * answer is still on its way, or one given up on. Destroyed if it stays
   * unknown; otherwise carried over to the next report in `stillStrays`.
   */
  private noteStray(funclet: FuncletInfo, report: SandboxReport, firstSeenMs: number, stillStrays: Map<string, number>): void {
    if (this.now() - firstSeenMs < STRAY_GRACE_MS) {
      stillStrays.set(report.sandboxId, firstSeenMs);
      return;
    }
    this.deps.log.warn({ sandbox: report.sandboxId, funclet: funclet.id, function: report.functionName }, 'destroying a sandbox of ours that the books do not hold');
    this.destroyUnbooked(funclet, report);
  }

  private keepPerFunclet(all: Map<string, Map<string, number>>, funcletId: string, entries: Map<string, number>): void {
    if (entries.size > 0) all.set(funcletId, entries);
    else all.delete(funcletId);
  }

  /** Destroys a sandbox that is ours but not on the books, and gives back its reservation. */
  private destroyUnbooked(funclet: FuncletInfo, report: SandboxReport): void {
    void this.deps.funclets.destroySandbox(funclet, report.sandboxId, { deadlineMs: this.now() + DESTROY_SANDBOX_BUDGET_MS }).catch(() => {});
    this.releaseReservation(report.functionName, report.reservation, report.concurrency);
  }

  private addSandbox(pool: FunctionPool, sandbox: SandboxRecord): SandboxRecord {
    pool.sandboxes.add(sandbox);
    let onFunclet = this.byFunclet.get(sandbox.funclet.id);
    if (!onFunclet) this.byFunclet.set(sandbox.funclet.id, (onFunclet = new Set()));
    onFunclet.add(sandbox);
    this.deps.log.debug({ sandbox: sandbox.id, function: sandbox.functionName, version: String(sandbox.version), funclet: sandbox.funclet.id }, 'sandbox on the books');
    return sandbox;
  }

  // ---- leases --------------------------------------------------------------

  private newLease(sandbox: SandboxRecord, slots: number): LeaseRecord {
    const lease: LeaseRecord = { id: `${this.leasePrefix}-${++this.leaseCounter}`, sandbox, holder: CONTROLLER_HOLDER, slots, expiresAtMs: Infinity, revoked: false };
    sandbox.leases.add(lease);
    this.leases.set(lease.id, lease);
    return lease;
  }

  private forgetLease(lease: LeaseRecord): void {
    this.leases.delete(lease.id);
    lease.sandbox.leases.delete(lease);
  }

  /** Shrinks a lease to `slots` (0 gives it back) and lets waiters have what came free. */
  private setSlots(lease: LeaseRecord, slots: number): void {
    if (!this.leases.has(lease.id) || slots >= lease.slots) return;
    const freed = lease.slots - slots;
    const sandbox = lease.sandbox;
    const pool = this.pools.get(sandbox.functionName);
    const counted = pool !== undefined && pool.sandboxes.has(sandbox);
    lease.slots = slots;
    sandbox.used -= freed;
    if (counted) {
      pool.usedSlots -= freed;
      if (lease.revoked) pool.slotsComingBack -= freed;
    }
    if (slots === 0) this.forgetLease(lease);
    if (sandbox.used === 0) {
      sandbox.idleSinceMs = this.now();
      if (!counted || sandbox.version < pool.latestVersion) this.discard(sandbox, { destroy: true, reason: 'older version' });
      else if (this.yieldsSlots(pool) && sandbox.untracked === 0) this.discard(sandbox, { destroy: true, reason: 'another controller wants its slots' });
    }
    if (counted) this.offerRoom(pool);
  }

  /** A sandbox of an older version (or a deleted function): no new calls; gone once its calls end. */
  private retire(sandbox: SandboxRecord): void {
    if (sandbox.used === 0) {
      this.discard(sandbox, { destroy: true, reason: 'older version' });
      return;
    }
    const pool = this.pools.get(sandbox.functionName);
    const counted = pool?.sandboxes.has(sandbox) ?? false;
    for (const lease of sandbox.leases) {
      if (lease.revoked || lease.holder === CONTROLLER_HOLDER) continue;
      lease.revoked = true;
      if (pool && counted) pool.slotsComingBack += lease.slots;
      lease.holder.revoke([lease.id]);
    }
  }

  private async destroy(sandbox: SandboxRecord, budgetMs = DESTROY_SANDBOX_BUDGET_MS): Promise<void> {
    try {
      await this.deps.funclets.destroySandbox(sandbox.funclet, sandbox.id, { deadlineMs: this.now() + budgetMs });
    } catch (error) {
      // The funclet may already have dropped it (restart, own cleanup).
      this.deps.log.debug({ sandbox: sandbox.id, err: (error as Error).message }, 'destroying a sandbox failed');
    }
  }
}
