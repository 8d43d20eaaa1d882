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
import { settlesWithin } from '@faas/telemetry';
import type { FunctionConfig, LeaseRenewal } from '@faas/protocol';
import { FunctionInitFailed, type Creation, type LeaseHolder, type LeaseRecord, type SandboxRecord } from './books.js';
import { FuncletChoice } from './funclet-choice.js';
import type { FuncletInfo, FuncletPort } from './funclet-port.js';
import { FunctionPool, type Grant } from './function-pool.js';

export interface PlacementLimits {
  readonly queueTimeoutMs: number;
  readonly maxQueue: number;
  readonly idleTtlMs: number;
  /** How long an edge's lease lasts unless renewed. */
  readonly leaseTtlMs: number;
}

export interface Membership {
  /** Funclets whose heartbeat is current. */
  live(): Promise<FuncletInfo[]>;
}

export interface PlacementLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  debug(object: object, message: string): void;
}

export interface PlacementDeps {
  readonly funclets: Pick<FuncletPort, 'destroySandbox' | 'disconnect'>;
  readonly membership: Membership;
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
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: PlacementDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A slot for one call of `fn`, held by the controller's own lease (or a ticket to make the sandbox). */
  async acquire(fn: FunctionConfig, options: PlaceOptions): Promise<Placed> {
    if (this.closed) throw new PlatformError('service_unavailable', 'the controller is shutting down');
    const pool = this.poolFor(fn);
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
    if (!pool || !pool.sandboxes.has(sandbox) || sandbox.version < pool.latestVersion || pool.waiters.length > 0) {
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
  discard(sandbox: SandboxRecord, { destroy, reason }: { destroy: boolean; reason: string }): void {
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
    if (pool) this.offerRoom(pool);
  }

  /** The funclet restarted, stopped heartbeating or cannot be reached: its sandboxes are gone. */
  forgetFunclet(funcletId: string, reason: string): void {
    const sandboxes = this.byFunclet.get(funcletId);
    if (!sandboxes) return;
    this.byFunclet.delete(funcletId);
    const funclet = [...sandboxes][0]?.funclet;
    this.deps.log.warn({ funclet: funcletId, sandboxes: sandboxes.size, reason }, 'forgetting the sandboxes of a funclet');
    for (const sandbox of sandboxes) this.discard(sandbox, { destroy: false, reason });
    if (funclet) this.deps.funclets.disconnect(funclet);
  }

  /** A funclet heartbeat: if it came back with a new boot id, its old sandboxes are gone. */
  noteFunclet(funclet: FuncletInfo): void {
    const known = this.byFunclet.get(funclet.id);
    const sample = known && [...known][0];
    if (sample && (sample.funclet.bootId !== funclet.bootId || sample.funclet.address !== funclet.address)) {
      this.forgetFunclet(funclet.id, 'funclet restarted');
    }
  }

  /** Compares the books with the live funclets: sandboxes on vanished or rebooted ones are forgotten. */
  reconcile(live: readonly FuncletInfo[]): void {
    const liveById = new Map(live.map((funclet) => [funclet.id, funclet]));
    for (const funcletId of [...this.byFunclet.keys()]) {
      const current = liveById.get(funcletId);
      if (!current) this.forgetFunclet(funcletId, 'funclet heartbeat expired');
      else this.noteFunclet(current);
    }
  }

  /** Periodic housekeeping: follow membership, expire unrenewed leases, sweep idle sandboxes. */
  async maintain(): Promise<void> {
    try {
      this.reconcile(await this.deps.membership.live());
    } catch (error) {
      // Without a membership list (Redis down) nothing is forgotten: better
      // to try a sandbox and fail than to drop live ones.
      this.deps.log.debug({ err: (error as Error).message }, 'membership unavailable; skipping reconcile');
    }
    this.expireLeases();
    this.sweepIdle();
  }

  /** Leases whose holder stopped renewing them (it died, or lost its stream) are freed. */
  expireLeases(): void {
    const now = this.now();
    for (const lease of [...this.leases.values()]) if (lease.expiresAtMs <= now) this.release(lease);
  }

  /** Destroys sandboxes idle for longer than the idle TTL and drops empty pools. */
  sweepIdle(): void {
    const cutoff = this.now() - this.deps.limits.idleTtlMs;
    for (const [name, pool] of this.pools) {
      for (const sandbox of [...pool.sandboxes]) {
        if (sandbox.used === 0 && sandbox.idleSinceMs <= cutoff) this.discard(sandbox, { destroy: true, reason: 'idle' });
      }
      if (pool.unused) this.pools.delete(name);
    }
  }

  /** Sandboxes on the books, for tests and introspection. */
  sandboxes(): SandboxRecord[] {
    return [...this.pools.values()].flatMap((pool) => [...pool.sandboxes]);
  }

  /** The funclets a new sandbox of `fn` would go to, best first (for code prefetch). */
  async likelyFunclets(fn: FunctionConfig): Promise<FuncletInfo[]> {
    return this.choice.order(fn, await this.deps.membership.live());
  }

  /**
   * Stops placing, fails the waiters and destroys every sandbox this
   * controller created, giving up after `timeoutMs`.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const shuttingDown = new PlatformError('service_unavailable', 'the controller is shutting down');
    const all = this.sandboxes();
    for (const pool of this.pools.values()) pool.waiters.failAll(shuttingDown);
    const destroyed = Promise.allSettled(all.map((sandbox) => this.destroy(sandbox, timeoutMs)));
    for (const sandbox of all) sandbox.forgotten = true;
    this.pools.clear();
    this.byFunclet.clear();
    this.leases.clear();
    await settlesWithin(destroyed, timeoutMs);
  }

  // ---- the pieces of acquire ---------------------------------------------

  private poolFor(fn: FunctionConfig): FunctionPool {
    let pool = this.pools.get(fn.name);
    if (!pool) {
      pool = new FunctionPool();
      this.pools.set(fn.name, pool);
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
    if (pool.mayCreate) {
      // On the books before its funclet is chosen (an await), so that the calls arriving meanwhile join it.
      const creation: Creation = { version, slots: pool.perSandbox, reserved: 1, joiners: [] };
      pool.creations.add(creation);
      pool.usedSlots += 1;
      return { kind: 'create', creation };
    }
    return undefined;
  }

  /** Capacity came free: hand it to the waiters, oldest first. */
  private offerRoom(pool: FunctionPool): void {
    if (pool.waiters.length === 0) return;
    pool.waiters.offer((version) => this.takeRoom(pool, version));
  }

  private async waitForRoom(pool: FunctionPool, fn: FunctionConfig, options: PlaceOptions): Promise<Grant> {
    if (pool.waiters.length >= this.deps.limits.maxQueue) {
      throw new PlatformError('too_many_requests', `${fn.name} is at its concurrency limit (${pool.maxConcurrency}) and its wait queue is full`);
    }
    this.askForSlotsBack(pool, pool.waiters.length + 1);
    const waitMs = Math.min(this.deps.limits.queueTimeoutMs, options.deadlineMs - this.now());
    return pool.waiters.wait(fn.version, waitMs, options.signal);
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

  /** Chooses the funclet for a creation takeRoom decided, and hands its call the ticket. */
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
      pool.usedSlots -= creation.reserved;
      const forJoiners = error instanceof FunctionInitFailed ? error : new CreationLost(error.message);
      for (const joiner of creation.joiners.splice(0)) joiner.reject(forJoiners);
      this.offerRoom(pool);
    };
    let funclet: FuncletInfo;
    try {
      const live = await this.deps.membership.live();
      this.reconcile(live);
      const reserved = this.choice.reserve(fn, live);
      funclet = reserved.funclet;
      releaseMemory = reserved.release;
    } catch (error) {
      failed(error as Error);
      throw error;
    }
    creation.funclet = funclet;
    return {
      funclet,
      created: (sandboxId) => {
        if (!finish()) {
          void this.deps.funclets.destroySandbox(funclet, sandboxId, { deadlineMs: this.now() + DESTROY_SANDBOX_BUDGET_MS }).catch(() => {});
          return undefined;
        }
        const sandbox = this.addSandbox(pool, fn, creation, funclet, sandboxId);
        const lease = this.newLease(sandbox, 1);
        for (const joiner of creation.joiners.splice(0)) joiner.resolve(this.newLease(sandbox, 1));
        this.offerRoom(pool);
        return lease;
      },
      failed,
    };
  }

  private addSandbox(pool: FunctionPool, fn: FunctionConfig, creation: Creation, funclet: FuncletInfo, sandboxId: string): SandboxRecord {
    const now = this.now();
    const sandbox: SandboxRecord = {
      id: sandboxId,
      funclet,
      functionName: fn.name,
      version: fn.version,
      memoryMb: fn.memoryMb,
      timeoutMs: fn.timeoutSeconds * 1000,
      slots: creation.slots,
      createdAtMs: now,
      used: creation.reserved,
      idleSinceMs: now,
      forgotten: false,
      leases: new Set(),
    };
    pool.sandboxes.add(sandbox);
    let onFunclet = this.byFunclet.get(sandbox.funclet.id);
    if (!onFunclet) this.byFunclet.set(sandbox.funclet.id, (onFunclet = new Set()));
    onFunclet.add(sandbox);
    this.deps.log.debug({ sandbox: sandbox.id, function: fn.name, version: String(fn.version), funclet: sandbox.funclet.id }, 'sandbox created');
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
