import { PlatformError } from '@faas/errors';
import type { FunctionConfig, FunctionError } from '@faas/protocol';
import { FuncletUnreachableError, type FuncletInfo, type FuncletPort } from './funclet-port.js';
import { WaitQueue } from './wait-queue.js';

/** A sandbox this controller created; it serves one function version, one call at a time. */
export interface Sandbox {
  readonly id: string;
  /** The funclet as it was when the sandbox was created (address, boot). */
  readonly funclet: FuncletInfo;
  readonly functionName: string;
  readonly version: bigint;
  readonly memoryMb: number;
  readonly createdAtMs: number;
  busy: boolean;
  idleSinceMs: number;
  /** Set once the sandbox left the books; later releases of it are ignored. */
  forgotten: boolean;
}

export type Lease =
  | { readonly kind: 'sandbox'; readonly sandbox: Sandbox; readonly coldStart: boolean }
  | { readonly kind: 'init_error'; readonly error: FunctionError };

export interface LeaseOptions {
  /** Absolute deadline (ms since epoch); Infinity for none. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

export interface SchedulerLimits {
  readonly queueTimeoutMs: number;
  readonly maxQueue: number;
  readonly idleTtlMs: number;
}

export interface Membership {
  /** Funclets whose heartbeat is current. */
  live(): Promise<FuncletInfo[]>;
}

export interface SchedulerLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  debug(object: object, message: string): void;
}

export interface SchedulerDeps {
  readonly funclets: FuncletPort;
  readonly membership: Membership;
  readonly limits: SchedulerLimits;
  readonly log: SchedulerLog;
  readonly now?: () => number;
}

/** Longest a CreateSandbox may take (code download and unpacking included). */
const CREATE_SANDBOX_BUDGET_MS = 60_000;
const DESTROY_SANDBOX_BUDGET_MS = 5_000;
/** How many funclets get a deployed function's code ahead of its first call. */
const PREFETCH_FUNCLETS = 2;

/** What a waiter receives: a sandbox to use, or a counted slot to create one in. */
type Grant = { readonly kind: 'sandbox'; readonly sandbox: Sandbox } | { readonly kind: 'slot' };

/** Everything the scheduler knows about one function. */
class FunctionPool {
  latestVersion = 0n;
  maxConcurrency = 1;
  readonly sandboxes = new Set<Sandbox>();
  /** Creations under way; they count against max_concurrency like sandboxes. */
  creating = 0;
  /** Callers waiting for a sandbox, keyed by the version they want. */
  readonly waiters = new WaitQueue<bigint, Grant>();

  get occupancy(): number {
    return this.sandboxes.size + this.creating;
  }

  get unused(): boolean {
    return this.occupancy === 0 && this.waiters.length === 0;
  }

  /** The most recently used idle sandbox, so the others age out and get swept. */
  takeIdle(version: bigint): Sandbox | undefined {
    let best: Sandbox | undefined;
    for (const sandbox of this.sandboxes) {
      if (sandbox.busy || sandbox.version !== version) continue;
      if (!best || sandbox.idleSinceMs > best.idleSinceMs) best = sandbox;
    }
    if (best) best.busy = true;
    return best;
  }
}

/**
 * Leases sandboxes to invocations (docs/design.md "Scheduling"): an idle
 * sandbox of the function's version, else a new one on the funclet with the
 * most free memory while below max_concurrency, else a FIFO wait. Keeps the
 * books of every sandbox this controller created; nothing here speaks gRPC.
 */
export class Scheduler {
  private readonly pools = new Map<string, FunctionPool>();
  /** Sandboxes per funclet id, to forget them all when the funclet goes. */
  private readonly byFunclet = new Map<string, Set<Sandbox>>();
  /** Memory of creations under way per funclet, so a burst spreads over funclets. */
  private readonly pendingMemoryMb = new Map<string, number>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: SchedulerDeps) {
    this.now = deps.now ?? Date.now;
  }

  async lease(fn: FunctionConfig, options: LeaseOptions): Promise<Lease> {
    if (this.closed) throw new PlatformError('service_unavailable', 'the controller is shutting down');
    const pool = this.poolFor(fn);
    if (options.signal?.aborted) throw new PlatformError('deadline_exceeded', 'the caller gave up');

    const idle = pool.takeIdle(fn.version);
    if (idle) return { kind: 'sandbox', sandbox: idle, coldStart: false };

    if (pool.occupancy < pool.maxConcurrency) {
      pool.creating++;
      return this.createInSlot(pool, fn, options);
    }

    if (pool.waiters.length >= this.deps.limits.maxQueue) {
      throw new PlatformError('too_many_requests', `${fn.name} is at its concurrency limit (${pool.maxConcurrency}) and its wait queue is full`);
    }
    const waitMs = Math.min(this.deps.limits.queueTimeoutMs, options.deadlineMs - this.now());
    const grant = await pool.waiters.wait(fn.version, waitMs, options.signal);
    if (grant.kind === 'sandbox') return { kind: 'sandbox', sandbox: grant.sandbox, coldStart: false };
    return this.createInSlot(pool, fn, options);
  }

  /** The call on `sandbox` finished and the sandbox can serve again. */
  release(sandbox: Sandbox): void {
    if (sandbox.forgotten) return;
    const pool = this.pools.get(sandbox.functionName);
    if (!pool || sandbox.version < pool.latestVersion) {
      this.discard(sandbox, { destroy: true, reason: 'older version' });
      return;
    }
    if (pool.waiters.grant({ kind: 'sandbox', sandbox }, (version) => version === sandbox.version)) return;
    sandbox.busy = false;
    sandbox.idleSinceMs = this.now();
  }

  /**
   * Takes a sandbox off the books (lost, broken, stale or recycled), and asks
   * its funclet to destroy it when it may still exist there.
   */
  discard(sandbox: Sandbox, { destroy, reason }: { destroy: boolean; reason: string }): void {
    if (sandbox.forgotten) return;
    sandbox.forgotten = true;
    this.byFunclet.get(sandbox.funclet.id)?.delete(sandbox);
    const pool = this.pools.get(sandbox.functionName);
    pool?.sandboxes.delete(sandbox);
    this.deps.log.debug({ sandbox: sandbox.id, function: sandbox.functionName, version: String(sandbox.version), reason }, 'sandbox discarded');
    if (destroy) void this.destroy(sandbox);
    if (pool) this.offerSlots(pool);
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

  /** Destroys sandboxes idle for longer than the idle TTL and drops empty pools. */
  sweepIdle(): void {
    const cutoff = this.now() - this.deps.limits.idleTtlMs;
    for (const [name, pool] of this.pools) {
      for (const sandbox of [...pool.sandboxes]) {
        if (!sandbox.busy && sandbox.idleSinceMs <= cutoff) this.discard(sandbox, { destroy: true, reason: 'idle' });
      }
      if (pool.unused) this.pools.delete(name);
    }
  }

  /** Periodic housekeeping: follow membership, then sweep. */
  async maintain(): Promise<void> {
    try {
      this.reconcile(await this.deps.membership.live());
    } catch (error) {
      // Without a membership list (Redis down) nothing is forgotten: better
      // to try a sandbox and fail than to drop live ones.
      this.deps.log.debug({ err: (error as Error).message }, 'membership unavailable; skipping reconcile');
    }
    this.sweepIdle();
  }

  /** Sandboxes on the books, for tests and introspection. */
  sandboxes(): Sandbox[] {
    return [...this.pools.values()].flatMap((pool) => [...pool.sandboxes]);
  }

  /**
   * Stops leasing, fails the waiters and destroys every sandbox this
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
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([destroyed, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private poolFor(fn: FunctionConfig): FunctionPool {
    let pool = this.pools.get(fn.name);
    if (!pool) {
      pool = new FunctionPool();
      this.pools.set(fn.name, pool);
    }
    if (fn.version >= pool.latestVersion) {
      const newer = fn.version > pool.latestVersion;
      pool.latestVersion = fn.version;
      pool.maxConcurrency = Math.max(1, fn.maxConcurrency);
      if (newer) this.retireOlderVersions(pool);
      // A redeploy may have raised max_concurrency: waiters can create now.
      this.offerSlots(pool);
    }
    return pool;
  }

  /** Idle sandboxes of older versions go now; busy ones when released. */
  private retireOlderVersions(pool: FunctionPool): void {
    for (const sandbox of [...pool.sandboxes]) {
      if (!sandbox.busy && sandbox.version < pool.latestVersion) this.discard(sandbox, { destroy: true, reason: 'older version' });
    }
  }

  /** Capacity freed up: hand creation slots to waiters, first come first served. */
  private offerSlots(pool: FunctionPool): void {
    while (pool.waiters.length > 0 && pool.occupancy < pool.maxConcurrency) {
      pool.creating++;
      if (!pool.waiters.grant({ kind: 'slot' })) {
        pool.creating--;
        return;
      }
    }
  }

  /** Creates a sandbox in a slot already counted in `pool.creating`. */
  private async createInSlot(pool: FunctionPool, fn: FunctionConfig, options: LeaseOptions): Promise<Lease> {
    try {
      const funclet = await this.reserveFunclet(fn);
      try {
        const deadlineMs = Math.min(options.deadlineMs, this.now() + CREATE_SANDBOX_BUDGET_MS);
        const outcome = await this.deps.funclets.createSandbox(funclet, fn, { deadlineMs });
        if ('initError' in outcome) return { kind: 'init_error', error: outcome.initError };
        const sandbox: Sandbox = {
          id: outcome.sandboxId,
          funclet,
          functionName: fn.name,
          version: fn.version,
          memoryMb: fn.memoryMb,
          createdAtMs: this.now(),
          busy: true,
          idleSinceMs: this.now(),
          forgotten: false,
        };
        pool.sandboxes.add(sandbox);
        let onFunclet = this.byFunclet.get(funclet.id);
        if (!onFunclet) this.byFunclet.set(funclet.id, (onFunclet = new Set()));
        onFunclet.add(sandbox);
        this.deps.log.debug({ sandbox: sandbox.id, function: fn.name, version: String(fn.version), funclet: funclet.id }, 'sandbox created');
        return { kind: 'sandbox', sandbox, coldStart: true };
      } finally {
        this.addPendingMemory(funclet.id, -fn.memoryMb);
      }
    } catch (error) {
      if (error instanceof FuncletUnreachableError) {
        this.forgetFunclet(error.funcletId, 'funclet unreachable');
        throw new PlatformError('service_unavailable', `funclet ${error.funcletId} is unreachable: ${error.message}`, { cause: error });
      }
      throw error;
    } finally {
      pool.creating--;
      this.offerSlots(pool);
    }
  }

  /**
   * Picks the funclet with the most free memory and counts the new sandbox's
   * memory against it at once (the caller gives it back), so concurrent
   * creations see each other and spread out.
   */
  private async reserveFunclet(fn: FunctionConfig): Promise<FuncletInfo> {
    const live = await this.deps.membership.live();
    this.reconcile(live);
    if (live.length === 0) throw new PlatformError('no_funclets', 'no funclet is registered and alive');
    const [best] = this.placementOrder(fn, live);
    if (!best) throw new PlatformError('no_funclets', `no live funclet runs the ${fn.runtime} runtime`);
    const bestFree = this.freeMemoryMb(best);
    // A funclet reporting no total does not limit by memory.
    if (best.memoryMbTotal > 0 && bestFree < fn.memoryMb) {
      throw new PlatformError('too_many_requests', `no funclet has ${fn.memoryMb} MiB free for another sandbox of ${fn.name}`);
    }
    this.addPendingMemory(best.id, fn.memoryMb);
    return best;
  }

  /** Funclets able to run the function, most free memory first: where its next sandbox goes. */
  private placementOrder(fn: FunctionConfig, live: readonly FuncletInfo[]): FuncletInfo[] {
    // A funclet announcing "custom" runs every registered "custom:<name>" runtime.
    const runtime = fn.runtime.startsWith('custom:') ? 'custom' : fn.runtime;
    return live
      .filter((funclet) => funclet.runtimes.length === 0 || funclet.runtimes.includes(runtime))
      .map((funclet) => ({ funclet, free: this.freeMemoryMb(funclet) }))
      .sort((a, b) => b.free - a.free)
      .map(({ funclet }) => funclet);
  }

  /**
   * Asks the funclets where the function's next sandboxes would go to fetch
   * its code now, so its first call does not wait for the download. Best
   * effort: a failure only means the first call fetches the code itself.
   */
  async prefetchCode(fn: FunctionConfig): Promise<void> {
    const digests = [fn.codeDigest, fn.runtimeCodeDigest].filter((digest): digest is string => Boolean(digest));
    if (digests.length === 0 || this.closed) return;
    const live = await this.deps.membership.live().catch(() => []);
    const targets = this.placementOrder(fn, live).slice(0, PREFETCH_FUNCLETS);
    await Promise.all(
      targets.map((funclet) =>
        this.deps.funclets.prefetchCode(funclet, digests, { deadlineMs: this.now() + CREATE_SANDBOX_BUDGET_MS }).catch((error: unknown) =>
          this.deps.log.debug({ funclet: funclet.id, function: fn.name, err: (error as Error).message }, 'code prefetch failed'),
        ),
      ),
    );
  }

  /**
   * The funclet's last report, minus what was created on it since (the
   * report cannot know) and what is being created now.
   */
  private freeMemoryMb(funclet: FuncletInfo): number {
    let sinceReport = 0;
    for (const sandbox of this.byFunclet.get(funclet.id) ?? []) {
      if (sandbox.createdAtMs > funclet.seenAtMs) sinceReport += sandbox.memoryMb;
    }
    return funclet.memoryMbTotal - funclet.memoryMbUsed - sinceReport - (this.pendingMemoryMb.get(funclet.id) ?? 0);
  }

  private addPendingMemory(funcletId: string, memoryMb: number): void {
    const total = (this.pendingMemoryMb.get(funcletId) ?? 0) + memoryMb;
    if (total > 0) this.pendingMemoryMb.set(funcletId, total);
    else this.pendingMemoryMb.delete(funcletId);
  }

  private async destroy(sandbox: Sandbox, budgetMs = DESTROY_SANDBOX_BUDGET_MS): Promise<void> {
    try {
      await this.deps.funclets.destroySandbox(sandbox.funclet, sandbox.id, { deadlineMs: this.now() + budgetMs });
    } catch (error) {
      // The funclet may already have dropped it (restart, own cleanup).
      this.deps.log.debug({ sandbox: sandbox.id, err: (error as Error).message }, 'destroying a sandbox failed');
    }
  }
}
