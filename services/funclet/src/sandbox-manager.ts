/**
 * The sandboxes of this funclet: creates them within the host's memory
 * budget, routes invocations to them, and destroys them on request, on
 * failure and at shutdown.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PlatformError, type FunctionErrorInfo } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import type { CodeCache } from './code-cache.js';
import { Sandbox, type CallOutcome, type SandboxCall } from './sandbox/sandbox.js';
import type { Runc } from './sandbox/runc.js';
import { SUPPORTED_RUNTIMES, runtimeNamed } from './runtimes.js';

const DEFAULT_MEMORY_MB = 128;
const DEFAULT_TIMEOUT_SECONDS = 30;

export interface FunctionToRun {
  readonly name: string;
  readonly version: bigint;
  readonly runtime: string;
  readonly handler: string;
  readonly codeDigest: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly environment: Readonly<Record<string, string>>;
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

export interface SandboxManagerOptions {
  readonly funcletId: string;
  readonly stateDir: string;
  readonly memoryMbTotal: number;
  readonly agentDir: string;
  readonly nodePath: string;
  readonly hostSystemDirs: readonly string[];
  readonly runc: Runc;
  readonly codeCache: CodeCache;
  readonly log: Logger;
}

interface Entry {
  readonly sandbox: Sandbox;
  readonly timeoutSeconds: number;
}

export class SandboxManager {
  private readonly sandboxes = new Map<string, Entry>();
  private reservedMb = 0;
  private counter = 0;
  private closing = false;

  constructor(private readonly options: SandboxManagerOptions) {}

  /** Prefix of every container id this funclet creates; orphans are recognised by it. */
  static containerIdPattern(funcletId: string): RegExp {
    return new RegExp(`^faas-${funcletId}-\\d+$`);
  }

  get memoryMbTotal(): number {
    return this.options.memoryMbTotal;
  }

  get memoryMbUsed(): number {
    return this.reservedMb;
  }

  get size(): number {
    return this.sandboxes.size;
  }

  /** `signal`: the caller gave up; a sandbox it would never learn about is destroyed at once. */
  async create(fn: FunctionToRun, signal?: AbortSignal): Promise<CreateOutcome> {
    if (this.closing) throw new PlatformError('service_unavailable', 'the funclet is shutting down');
    const memoryMb = validate(fn);
    if (this.reservedMb + memoryMb > this.options.memoryMbTotal) {
      throw new PlatformError(
        'too_many_requests',
        `funclet ${this.options.funcletId} has ${this.options.memoryMbTotal - this.reservedMb} MB free, ${memoryMb} MB asked`,
      );
    }
    this.reservedMb += memoryMb;
    let reservationHeld = true;
    const release = () => {
      if (!reservationHeld) return;
      reservationHeld = false;
      this.reservedMb -= memoryMb;
    };

    const { funcletId, stateDir, log } = this.options;
    const id = `faas-${funcletId}-${++this.counter}`;
    try {
      const codeDir = await this.options.codeCache.ensure(fn.codeDigest);
      const started = performance.now();
      const sandbox = await Sandbox.start(
        {
          id,
          fn: { name: fn.name, version: fn.version, handler: fn.handler, memoryMb, environment: fn.environment },
          codeDir,
          bundleDir: join(stateDir, 'sandboxes', id),
          cgroupsPath: `/faas/${funcletId}/${id}`,
          agentDir: this.options.agentDir,
          nodePath: this.options.nodePath,
          hostSystemDirs: this.options.hostSystemDirs,
        },
        { runc: this.options.runc, log },
      );
      sandbox.onGone(() => {
        this.sandboxes.delete(id);
        release();
      });
      this.sandboxes.set(id, { sandbox, timeoutSeconds: fn.timeoutSeconds || DEFAULT_TIMEOUT_SECONDS });
      const runningMs = performance.now() - started;
      const initError = await sandbox.load();
      const readyMs = performance.now() - started;
      if (initError) {
        log.info({ sandbox: id, function: fn.name, version: String(fn.version), initError: initError.type }, 'function failed to load');
        await sandbox.destroy();
        return { initError };
      }
      if (this.closing) {
        await sandbox.destroy();
        throw new PlatformError('service_unavailable', 'the funclet is shutting down');
      }
      if (signal?.aborted) {
        await sandbox.destroy();
        throw new PlatformError('deadline_exceeded', 'the caller gave up before the sandbox was ready');
      }
      log.info(
        { sandbox: id, function: fn.name, version: String(fn.version), memoryMb, sandboxPid: sandbox.pid, startMs: round(runningMs), readyMs: round(readyMs) },
        'sandbox ready',
      );
      return { sandboxId: id };
    } catch (error) {
      const started = this.sandboxes.get(id);
      if (started) await started.sandbox.destroy();
      else release();
      throw error;
    }
  }

  async invoke(sandboxId: string, call: Omit<SandboxCall, 'callId'> & { callId?: string }, timeoutMs: number): Promise<CallOutcome> {
    const entry = this.get(sandboxId);
    const budgetMs = timeoutMs > 0 ? timeoutMs : entry.timeoutSeconds * 1000;
    return entry.sandbox.invoke({ ...call, callId: call.callId || randomUUID() }, budgetMs);
  }

  async destroy(sandboxId: string): Promise<void> {
    await this.get(sandboxId).sandbox.destroy();
  }

  list(): SandboxSummary[] {
    return [...this.sandboxes.values()].map(({ sandbox }) => ({
      sandboxId: sandbox.id,
      functionName: sandbox.fn.name,
      functionVersion: sandbox.fn.version,
      memoryMb: sandbox.fn.memoryMb,
      pid: sandbox.pid,
      cgroupPath: sandbox.cgroupsPath,
    }));
  }

  /** Refuses new sandboxes and destroys every existing one. */
  async destroyAll(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.sandboxes.values()].map(({ sandbox }) => sandbox.destroy()));
  }

  private get(sandboxId: string): Entry {
    const entry = this.sandboxes.get(sandboxId);
    if (!entry) throw new PlatformError('sandbox_not_found', `funclet ${this.options.funcletId} has no sandbox ${JSON.stringify(sandboxId)}`);
    return entry;
  }
}

/** The memory the sandbox gets, once the config is known to be runnable here. */
function validate(fn: FunctionToRun): number {
  if (!runtimeNamed(fn.runtime)) {
    throw new PlatformError('invalid_function_config', `runtime ${JSON.stringify(fn.runtime)} is not supported here (${SUPPORTED_RUNTIMES.join(', ')})`);
  }
  if (!/^[^.\s][^\s]*\.[A-Za-z_$][\w$]*$/.test(fn.handler)) {
    throw new PlatformError('invalid_function_config', `handler ${JSON.stringify(fn.handler)} is not of the form file.export`);
  }
  const memoryMb = fn.memoryMb || DEFAULT_MEMORY_MB;
  if (memoryMb < 64 || memoryMb > 10240) throw new PlatformError('invalid_function_config', `memory_mb ${memoryMb} is outside 64..10240`);
  if (!fn.name) throw new PlatformError('invalid_function_config', 'the function has no name');
  return memoryMb;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
