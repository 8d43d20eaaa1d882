/**
 * The sandboxes of this funclet: creates them within the host's memory
 * budget (from the pool when it can), routes invocations to them, and
 * destroys them on request, on failure and at shutdown.
 *
 * Lifecycle: pool (generic, booted ahead) → specialised for one function
 * version → idle/busy → destroyed. A sandbox never serves another function;
 * its network namespace is scrubbed and reused, its cgroup and bundle go.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PlatformError, type FunctionErrorInfo } from '@faas/errors';
import { CONCURRENCY_PER_SANDBOX, MEMORY_MB, TIMEOUT_SECONDS, concurrencyProblem, handlerProblem, isCustomRuntime, isWithin, qualifiedNameOf, withDefault } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import { BootSlots } from './boot-slots.js';
import type { CodeCache, CodeLease } from './code-cache.js';
import type { CgroupDriver } from './sandbox/cgroup-driver.js';
import type { HostCommand } from './sandbox/host-command.js';
import { commandMounter, type Mounter } from './sandbox/mount-helper.js';
import { limitsFor, poolLimits, type SandboxLimits } from './sandbox/limits.js';
import type { NetnsPool } from './sandbox/netns-pool.js';
import { Sandbox, type CallOutcome, type SandboxCall, type SandboxFunction } from './sandbox/sandbox.js';
import type { Runc } from './sandbox/runc.js';
import { MemoryBudget } from './memory-budget.js';
import { SandboxPool } from './sandbox-pool.js';
import { SandboxOwnership } from './sandbox-ownership.js';
import { SUPPORTED_RUNTIMES, runtimeNamed, type RuntimeHostPaths } from './runtimes.js';
import type { LogSink } from './log-sink.js';
import type { StagedRoot } from './sandbox/staging.js';
import { recordAgentSpans } from './agent-spans.js';
import { coldStartSeconds, coldStarts } from './funclet-metrics.js';

export interface FunctionToRun {
  readonly name: string;
  readonly version: bigint;
  /** 0 for $LATEST. */
  readonly publishedVersion?: number;
  readonly runtime: string;
  readonly handler: string;
  readonly codeDigest: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly environment: Readonly<Record<string, string>>;
  /** Outbound network (veth, bridge, NAT); loopback only otherwise. */
  readonly networkEgress?: boolean;
  /** /tmp size in MiB; 0 or absent: the default. */
  readonly tmpSizeMb?: number;
  /** A custom runtime's bundle (stubs resolves "custom:<name>" to it); mounted at /opt/runtime. */
  readonly runtimeCodeDigest?: string;
  /** Calls one sandbox serves at once; 0 or absent: 1. */
  readonly concurrencyPerSandbox?: number;
  /** Secrets mounted at /var/openfaas/secrets/<name>. */
  readonly secrets?: readonly string[];
}

/** Who the new sandbox is for (see sandbox-ownership.ts); a sandbox made without one is nobody's from the start. */
export interface SandboxClaim {
  readonly owner: string;
  readonly reservation: string;
}

/** A specialised sandbox as the funclet reports it to controllers. */
export interface SandboxState {
  readonly sandboxId: string;
  readonly functionName: string;
  readonly functionVersion: bigint;
  readonly memoryMb: number;
  readonly concurrency: number;
  readonly inFlight: number;
  readonly owner: string;
  readonly reservation: string;
  readonly idleMs: number;
  /** How long nobody has owned it; 0 while owned. */
  readonly unownedMs: number;
}

export type CreateOutcome = { readonly sandboxId: string } | { readonly initError: FunctionErrorInfo };

export interface SandboxSummary {
  readonly sandboxId: string;
  readonly functionName: string;
  readonly functionVersion: bigint;
  readonly memoryMb: number;
  readonly pid: number;
  readonly cgroupPath: string;
}

export interface PoolSettings {
  /** Generic sandboxes kept ready per pooled runtime; 0 disables the pool. */
  readonly size: number;
  /**
   * Memory all waiting pool sandboxes together may hold: a runtime's pool
   * grows with its misses until the pools fill it.
   */
  readonly budgetMb: number;
  /** Memory a waiting pool sandbox is given and holds in the budget. */
  readonly memoryMb: number;
  /** Per-runtime sizes overriding `size` (e.g. a host that runs mostly nodejs). */
  readonly sizes?: Readonly<Record<string, number>>;
}

export interface SandboxManagerOptions {
  readonly funcletId: string;
  readonly stateDir: string;
  readonly memoryMbTotal: number;
  /** The agent and the sandboxes' /etc, staged in the sandboxes tmpfs. */
  readonly stage: StagedRoot;
  /** PID 1 of every sandbox (see oci-spec.ts). */
  readonly initPath: string;
  readonly runtimePaths: RuntimeHostPaths;
  readonly hostSystemDirs: readonly string[];
  readonly runc: Runc;
  readonly codeCache: CodeCache;
  readonly cgroups: CgroupDriver;
  readonly netns: NetnsPool;
  readonly run: HostCommand;
  /** Code binds into running sandboxes; mount(8) per call when absent. */
  readonly mounter?: Mounter;
  readonly pool: PoolSettings;
  readonly log: Logger;
  /** Receives the functions' output (per-call logs); dropped when absent. */
  readonly logSink?: LogSink;
  /** Sandboxes booting at once, pool and requests together; default: the host's cores. */
  readonly concurrentBoots?: number;
  /** The values of a function's secrets (stubs); a function that lists secrets cannot start without it. */
  readonly secretValues?: (names: readonly string[]) => Promise<Record<string, Uint8Array>>;
}

/** Time between taking a pool sandbox and starting its replacement's boot (see SandboxPoolOptions). */
const POOL_REFILL_DELAY_MS = 50;

interface Entry {
  readonly sandbox: Sandbox;
  readonly timeoutSeconds: number;
}

/** What a new sandbox is made of before it is specialised. */
interface Prepared {
  readonly sandbox: Sandbox;
  readonly code: CodeLease;
  /** A custom runtime's bundle, mounted at /opt/runtime. */
  readonly runtimeCode?: CodeLease;
  readonly codeMs: number;
  readonly bootMs: number;
}

export class SandboxManager {
  private readonly sandboxes = new Map<string, Entry>();
  private readonly memory: MemoryBudget;
  private counter = 0;
  private closing = false;
  /** CreateSandbox calls between taking a pool sandbox and its LOAD's answer. */
  private specialising = 0;
  readonly pool: SandboxPool<Sandbox>;
  private readonly mounter: Mounter;
  private readonly bootSlots: BootSlots;
  /** Which controller places calls on each ready sandbox. */
  readonly ownership = new SandboxOwnership();

  constructor(private readonly options: SandboxManagerOptions) {
    this.memory = new MemoryBudget({
      funcletId: options.funcletId,
      totalMb: options.memoryMbTotal,
      poolSandboxMb: options.pool.memoryMb,
      poolBudgetMb: options.pool.budgetMb,
      reclaimPool: (count) => this.pool.reclaim(count),
    });
    this.mounter = options.mounter ?? commandMounter(options.run);
    this.bootSlots = new BootSlots(Math.max(1, options.concurrentBoots ?? availableParallelism()));
    this.pool = new SandboxPool<Sandbox>({
      runtimes: SUPPORTED_RUNTIMES,
      baseSize: options.pool.size,
      // Any one runtime may grow to the whole budget when its cold starts are the ones that miss.
      maxSize: Math.floor(options.pool.budgetMb / options.pool.memoryMb),
      sizes: options.pool.sizes,
      slots: this.bootSlots,
      refillDelayMs: POOL_REFILL_DELAY_MS,
      deferRefill: () => this.specialising > 0,
      boot: (runtime) => this.boot(runtime, poolLimits(options.pool.memoryMb)),
      reserve: () => !this.closing && this.memory.reservePoolSandbox(),
      unreserve: () => this.memory.unreservePoolSandbox(),
      log: options.log,
    });
  }

  /** Prefix of every container id this funclet creates; orphans are recognised by it. */
  static containerIdPattern(funcletId: string): RegExp {
    return new RegExp(`^faas-${funcletId}-\\d+$`);
  }

  /** Starts filling the pool in the background. */
  start(): void {
    this.pool.start();
  }

  get memoryMbTotal(): number {
    return this.memory.totalMb;
  }

  /** Memory given to functions; pool sandboxes are not counted, their memory is there for the taking. */
  get memoryMbUsed(): number {
    return this.memory.usedMb;
  }

  get size(): number {
    return this.sandboxes.size;
  }

  /** `signal`: the caller gave up; a sandbox it would never learn about is destroyed at once. */
  async create(fn: FunctionToRun, signal?: AbortSignal, claim: SandboxClaim = { owner: '', reservation: '' }): Promise<CreateOutcome> {
    this.specialising += 1;
    try {
      return await this.createSandbox(fn, signal, claim);
    } finally {
      this.specialising -= 1;
    }
  }

  private async createSandbox(fn: FunctionToRun, signal: AbortSignal | undefined, claim: SandboxClaim): Promise<CreateOutcome> {
    if (this.closing) throw new PlatformError('service_unavailable', 'the funclet is shutting down');
    const { memoryMb, concurrency } = validate(fn);
    const started = performance.now();
    this.memory.ensureFits(memoryMb);
    // Egress sandboxes need a namespace with a veth: never a pooled one.
    const pooled = fn.networkEgress ? undefined : this.takeFromPool(fn.runtime);
    const release = this.memory.holdForFunction(memoryMb);
    const limits = limitsFor(memoryMb, { tmpMb: fn.tmpSizeMb || undefined });

    let prepared: Prepared;
    try {
      prepared = await this.prepare(fn, limits, pooled);
    } catch (error) {
      release();
      throw error;
    }
    // From here the sandbox owns its memory and code: they go when it goes.
    const { sandbox, code } = prepared;
    sandbox.onGone(() => {
      this.sandboxes.delete(sandbox.id);
      this.ownership.remove(sandbox.id);
      release();
      code.release();
      prepared.runtimeCode?.release();
    });
    if (!sandbox.isGone) this.sandboxes.set(sandbox.id, { sandbox, timeoutSeconds: withDefault(fn.timeoutSeconds, TIMEOUT_SECONDS) });
    try {
      const target: SandboxFunction = { name: fn.name, qualifiedName: qualifiedNameOf({ name: fn.name, publishedVersion: fn.publishedVersion ?? 0 }), version: fn.version, handler: fn.handler, memoryMb, environment: fn.environment, concurrency };
      const secrets = await this.secretsOf(fn);
      const { initError, timings } = await sandbox.specialise(target, { codeDir: code.viewDir, runtimeDir: prepared.runtimeCode?.viewDir, secrets }, limits);
      if (initError) {
        this.options.log.info({ sandbox: sandbox.id, function: fn.name, version: String(fn.version), initError: initError.type }, 'function failed to load');
        await sandbox.destroy();
        return { initError };
      }
      if (this.closing) throw new PlatformError('service_unavailable', 'the funclet is shutting down');
      if (signal?.aborted) throw new PlatformError('deadline_exceeded', 'the caller gave up before the sandbox was ready');
      this.ownership.add(sandbox.id, claim.owner, claim.reservation);
      this.options.log.info(
        {
          sandbox: sandbox.id,
          function: fn.name,
          version: String(fn.version),
          runtime: fn.runtime,
          memoryMb,
          egress: fn.networkEgress === true,
          fromPool: pooled !== undefined,
          sandboxPid: sandbox.pid,
          codeMs: round(prepared.codeMs),
          // The boot's own duration; with an empty pool it overlaps codeMs.
          bootMs: round(prepared.bootMs),
          ...timings,
          readyMs: round(performance.now() - started),
        },
        'sandbox ready',
      );
      coldStarts.get(fn.name, fn.runtime, pooled ? 'true' : 'false').inc();
      coldStartSeconds.get(fn.name, fn.runtime).observe((performance.now() - started) / 1000);
      return { sandboxId: sandbox.id };
    } catch (error) {
      await sandbox.destroy();
      throw error;
    }
  }

  /** The function's secret values, fetched for each sandbox: a secret updated since reaches the next one. */
  private async secretsOf(fn: FunctionToRun): Promise<Record<string, Uint8Array> | undefined> {
    if (!fn.secrets || fn.secrets.length === 0) return undefined;
    if (!this.options.secretValues) throw new PlatformError('service_unavailable', `function ${fn.name} lists secrets, and this funclet has no secret source`);
    return this.options.secretValues(fn.secrets);
  }

  /**
   * The function's code (and a custom runtime's bundle, fetched at the same
   * time) in the cache and a running generic sandbox for it: the pool's, or
   * one booted while the code is fetched. Everything is given back if any
   * part fails.
   */
  private async prepare(fn: FunctionToRun, limits: SandboxLimits, pooled: Sandbox | undefined): Promise<Prepared> {
    const started = performance.now();
    // Booted without the CPU quota (a 64 MB function's quarter core would
    // stretch the runtime's start fourfold); specialise applies it before
    // any function code runs.
    const bootLimits = { ...limits, cpuQuotaUs: -1 };
    const runtime = runtimeNamed(fn.runtime)!.name;
    const egress = fn.networkEgress === true;
    let bootMs = 0;
    const bootStarted = performance.now();
    const booting = pooled
      ? undefined
      : this.bootForRequest(runtime, bootLimits, egress).then((booted) => {
          bootMs = performance.now() - bootStarted;
          return booted;
        });
    booting?.catch(() => {});
    const { codeCache } = this.options;
    const [code, runtimeCode] = await Promise.allSettled([
      codeCache.acquire(fn.codeDigest),
      isCustomRuntime(fn.runtime) ? codeCache.acquire(fn.runtimeCodeDigest!) : Promise.resolve(undefined),
    ]);
    const codeMs = performance.now() - started;
    try {
      if (code.status === 'rejected') throw code.reason;
      if (runtimeCode.status === 'rejected') throw runtimeCode.reason;
      const sandbox = pooled ?? (await booting!);
      return { sandbox, code: code.value, runtimeCode: runtimeCode.value, codeMs, bootMs };
    } catch (error) {
      if (code.status === 'fulfilled') code.value.release();
      if (runtimeCode.status === 'fulfilled') runtimeCode.value?.release();
      const sandbox = pooled ?? (await booting?.catch(() => undefined));
      if (sandbox) await sandbox.destroy();
      throw error;
    }
  }

  /** Brings bundles into the code cache now, so the first sandbox that needs them does not wait. */
  async prefetchCode(digests: readonly string[]): Promise<void> {
    await Promise.all(digests.map(async (digest) => (await this.options.codeCache.acquire(digest)).release()));
  }

  /**
   * Runs a call in the sandbox. `functionName`, when given, must be the
   * sandbox's: a caller with a wrong idea of it (a stale lease, a bug) gets
   * sandbox_not_found rather than running one function's call in another's
   * sandbox.
   */
  async invoke(sandboxId: string, call: Omit<SandboxCall, 'callId'> & { callId?: string }, timeoutMs: number, functionName?: string): Promise<CallOutcome> {
    const entry = this.get(sandboxId);
    if (functionName && !entry.sandbox.isGeneric && entry.sandbox.fn.qualifiedName !== functionName) {
      throw new PlatformError('sandbox_not_found', `sandbox ${sandboxId} serves another function than ${functionName}`);
    }
    const budgetMs = timeoutMs > 0 ? timeoutMs : entry.timeoutSeconds * 1000;
    return entry.sandbox.invoke({ ...call, callId: call.callId || randomUUID() }, budgetMs);
  }

  async destroy(sandboxId: string): Promise<void> {
    await this.get(sandboxId).sandbox.destroy();
  }

  list(): SandboxSummary[] {
    return [...this.sandboxes.values()]
      .filter(({ sandbox }) => !sandbox.isGeneric)
      .map(({ sandbox }) => ({
        sandboxId: sandbox.id,
        functionName: sandbox.fn.qualifiedName,
        functionVersion: sandbox.fn.version,
        memoryMb: sandbox.fn.memoryMb,
        pid: sandbox.pid,
        cgroupPath: sandbox.cgroupsPath,
      }));
  }

  /** The ready sandboxes with their owners, for the controllers. */
  states(now = Date.now()): SandboxState[] {
    const states: SandboxState[] = [];
    for (const { sandbox } of this.sandboxes.values()) {
      const owned = this.ownership.of(sandbox.id);
      if (!owned || sandbox.isGone) continue;
      states.push({
        sandboxId: sandbox.id,
        functionName: sandbox.fn.qualifiedName,
        functionVersion: sandbox.fn.version,
        memoryMb: sandbox.fn.memoryMb,
        concurrency: sandbox.fn.concurrency,
        inFlight: sandbox.inFlight,
        owner: owned.owner,
        reservation: owned.reservation,
        idleMs: sandbox.idleMs(now),
        unownedMs: owned.unownedSinceMs === undefined ? 0 : Math.max(0, now - owned.unownedSinceMs),
      });
    }
    return states;
  }

  /**
   * Destroys the idle sandboxes no controller has claimed for `ms`: their
   * controller is gone and no other wants them (all controllers down, or
   * the function was deleted meanwhile).
   */
  async destroyUnowned(ms: number): Promise<number> {
    const idle = this.ownership.unownedFor(ms).flatMap((id) => {
      const entry = this.sandboxes.get(id);
      return entry && entry.sandbox.inFlight === 0 ? [entry.sandbox] : [];
    });
    for (const sandbox of idle) this.options.log.info({ sandbox: sandbox.id, function: sandbox.fn.name }, 'destroying a sandbox no controller claimed');
    await Promise.all(idle.map((sandbox) => sandbox.destroy()));
    return idle.length;
  }

  /**
   * Recycles sandboxes whose agent stopped answering while idle for at
   * least `idleMs`: the next call would only time out there. Returns how
   * many went.
   */
  async recycleUnresponsive(idleMs: number, answerWithinMs: number): Promise<number> {
    const now = Date.now();
    const idle = [...this.sandboxes.values()].map(({ sandbox }) => sandbox).filter((sandbox) => !sandbox.isGeneric && !sandbox.isGone && sandbox.idleMs(now) >= idleMs);
    const silent = (await Promise.all(idle.map(async (sandbox) => ((await sandbox.answers(answerWithinMs)) ? undefined : sandbox)))).filter(
      (sandbox): sandbox is Sandbox => sandbox !== undefined,
    );
    for (const sandbox of silent) this.options.log.warn({ sandbox: sandbox.id, function: sandbox.fn.name }, 'the sandbox\'s agent stopped answering; recycling it');
    await Promise.all(silent.map((sandbox) => sandbox.destroy({ killFirst: true })));
    return silent.length;
  }

  /** Refuses new sandboxes and destroys every existing one, the pool's included. */
  async destroyAll(): Promise<void> {
    this.closing = true;
    await Promise.all([this.pool.close(), ...[...this.sandboxes.values()].map(({ sandbox }) => sandbox.destroy())]);
  }

  /** A pooled sandbox, when there is one; its pool reservation ends (the function's memory is held instead). */
  private takeFromPool(runtime: string): Sandbox | undefined {
    const definition = runtimeNamed(runtime);
    if (!definition || !this.pool.enabled) return undefined;
    const sandbox = this.pool.take(definition.name);
    if (sandbox) this.memory.unreservePoolSandbox();
    return sandbox;
  }

  /** A boot for a request the pool could not serve, in line for a boot slot ahead of the pool's refills. */
  private async bootForRequest(...args: Parameters<SandboxManager['boot']>): Promise<Sandbox> {
    await this.bootSlots.acquire();
    try {
      return await this.boot(...args);
    } finally {
      this.bootSlots.release();
    }
  }

  /** Boots a generic sandbox of `runtime` (for the pool, or for one function when the pool had none). */
  private async boot(runtime: string, limits: ReturnType<typeof limitsFor>, egress = false): Promise<Sandbox> {
    const { funcletId, stateDir, log, runc, cgroups, run, netns, stage } = this.options;
    const definition = runtimeNamed(runtime);
    if (!definition) throw new PlatformError('invalid_function_config', `runtime ${JSON.stringify(runtime)} is not supported here`);
    const id = `faas-${funcletId}-${++this.counter}`;
    const namespace = await netns.acquire(egress);
    if (egress) await stage.refreshResolver();
    return Sandbox.boot(
      {
        id,
        runtime,
        agentArgs: definition.agentArgs(this.options.runtimePaths),
        // Named at random, not by id: the sandbox sees this name in its mount table, and the id names the host.
        bundleDir: join(stateDir, 'sandboxes', randomBytes(6).toString('hex')),
        cgroupsPath: `/faas/${funcletId}/${id}`,
        agentDir: stage.agentDir,
        etcDir: egress ? stage.egressEtcDir : stage.etcDir,
        init: this.options.initPath,
        hostSystemDirs: this.options.hostSystemDirs,
        netns: namespace,
        limits,
        runtimeBundle: definition.runtimeBundle,
      },
      { runc, log, cgroups, run, mounter: this.mounter, releaseNetns: (used) => void netns.release(used), logSink: this.options.logSink, onSpans: recordAgentSpans },
    );
  }

  private get(sandboxId: string): Entry {
    const entry = this.sandboxes.get(sandboxId);
    if (!entry) throw new PlatformError('sandbox_not_found', `funclet ${this.options.funcletId} has no sandbox ${JSON.stringify(sandboxId)}`);
    return entry;
  }
}

/** The memory and concurrency the sandbox gets, once the config is known to be runnable here (the rules stubs deploys by). */
function validate(fn: FunctionToRun): { memoryMb: number; concurrency: number } {
  const invalid = (message: string) => new PlatformError('invalid_function_config', message);
  if (!runtimeNamed(fn.runtime)) throw invalid(`runtime ${JSON.stringify(fn.runtime)} is not supported here (${SUPPORTED_RUNTIMES.join(', ')})`);
  const handler = handlerProblem(fn.runtime, fn.handler);
  if (handler) throw invalid(`handler ${handler}`);
  if (isCustomRuntime(fn.runtime) && !fn.runtimeCodeDigest) throw invalid(`runtime ${fn.runtime} is not registered (no runtime_code_digest)`);
  const memoryMb = withDefault(fn.memoryMb, MEMORY_MB);
  if (!isWithin(memoryMb, MEMORY_MB)) throw invalid(`memory_mb ${memoryMb} is outside ${MEMORY_MB.min}..${MEMORY_MB.max}`);
  if (!fn.name) throw invalid('the function has no name');
  const concurrency = withDefault(fn.concurrencyPerSandbox ?? 0, CONCURRENCY_PER_SANDBOX);
  const problem = concurrencyProblem(fn.runtime, concurrency);
  if (problem) throw invalid(`concurrency_per_sandbox ${problem}`);
  return { memoryMb, concurrency };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
