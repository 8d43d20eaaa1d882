/**
 * One sandbox: a runc container running the runtime agent for one function
 * version, from start to destruction. Knows nothing about gRPC.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError, FunctionErrorType, type FunctionErrorInfo } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import { FrameType, type ErrorHeader, type HttpRequestHeader, type InvokeHeader, type LoadHeader } from '../agent/wire.js';
import { AgentClient, AgentDisconnectedError } from './agent-client.js';
import { ranOutOfMemory } from './cgroups.js';
import { SANDBOX_AGENT_DIR, SANDBOX_CODE_DIR, buildSandboxSpec } from './oci-spec.js';
import { forEachLine } from './output-lines.js';
import type { Runc } from './runc.js';

/** How long the agent may take to listen after runc started it. */
const AGENT_READY_TIMEOUT_MS = 5000;
/** How long a function's module may take to load (its top-level code included). */
const INIT_TIMEOUT_MS = 10_000;

export interface SandboxFunction {
  readonly name: string;
  readonly version: bigint;
  readonly handler: string;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
}

export interface SandboxSetup {
  readonly id: string;
  readonly fn: SandboxFunction;
  /** Host directory holding the unpacked code. */
  readonly codeDir: string;
  /** Host directory for this sandbox's OCI bundle (created here, removed on destroy). */
  readonly bundleDir: string;
  readonly cgroupsPath: string;
  readonly agentDir: string;
  readonly nodePath: string;
  readonly hostSystemDirs: readonly string[];
}

export interface SandboxCall {
  readonly callId: string;
  readonly kind: 'event' | 'http';
  readonly payload: Uint8Array;
  readonly contentType: string;
  readonly http?: HttpRequestHeader;
}

export interface CallResult {
  readonly callId: string;
  /** The handler's JSON-encoded return value (empty on error). */
  readonly result: Uint8Array;
  readonly functionError?: FunctionErrorInfo;
  readonly durationSeconds: number;
  readonly functionVersion: bigint;
  readonly sandboxId: string;
  readonly coldStart: boolean;
}

export interface CallOutcome {
  readonly result: CallResult;
  /** The sandbox is gone (killed on timeout, crashed, out of memory). */
  readonly sandboxLost: boolean;
}

export interface SandboxDeps {
  readonly runc: Runc;
  readonly log: Logger;
}

type State = 'ready' | 'destroying';

export class Sandbox {
  private state: State = 'ready';
  private invocations = 0;
  private exitReason?: Promise<string>;
  private destroyed?: Promise<void>;
  private readonly goneListeners: Array<() => void> = [];

  private constructor(
    private readonly setup: SandboxSetup,
    private readonly deps: SandboxDeps,
    readonly pid: number,
    private readonly agent: AgentClient,
  ) {
    agent.onClose(() => {
      if (this.state !== 'ready') return;
      void this.classifyExit()
        .then((reason) => deps.log.warn({ sandbox: setup.id, function: setup.fn.name, reason }, 'sandbox runtime exited'))
        .finally(() => this.destroy());
    });
  }

  /** Writes the bundle, runs the container and connects to its agent. */
  static async start(setup: SandboxSetup, deps: SandboxDeps): Promise<Sandbox> {
    const { id, bundleDir } = setup;
    const runDir = join(bundleDir, 'run');
    await mkdir(join(bundleDir, 'rootfs'), { recursive: true, mode: 0o755 });
    await mkdir(runDir, { recursive: true });
    // The agent runs as nobody and must create its socket here.
    await chmod(runDir, 0o777);
    const spec = buildSandboxSpec({
      hostSystemDirs: setup.hostSystemDirs,
      codeDir: setup.codeDir,
      agentDir: setup.agentDir,
      runDir,
      args: [setup.nodePath, `${SANDBOX_AGENT_DIR}/node-agent.js`],
      memoryMb: setup.fn.memoryMb,
      cgroupsPath: setup.cgroupsPath,
    });
    await writeFile(join(bundleDir, 'config.json'), JSON.stringify(spec));

    const recentOutput: string[] = [];
    let pid = 0;
    try {
      const container = await deps.runc.run(id, bundleDir, join(bundleDir, 'container.pid'));
      pid = container.pid;
      for (const [stream, readable] of [['stdout', container.stdout], ['stderr', container.stderr]] as const) {
        forEachLine(readable, (line) => {
          recentOutput.push(line);
          if (recentOutput.length > 5) recentOutput.shift();
          deps.log.info({ sandbox: id, function: setup.fn.name, stream, line }, 'sandbox output');
        });
      }
      const agent = await AgentClient.connectWhenReady(join(runDir, 'agent.sock'), AGENT_READY_TIMEOUT_MS, () => isAlive(pid));
      return new Sandbox(setup, deps, pid, agent);
    } catch (error) {
      await deps.runc.forceDelete(id).catch(() => {});
      await rm(bundleDir, { recursive: true, force: true });
      if (error instanceof PlatformError) throw error;
      const output = recentOutput.length > 0 ? `; last output: ${recentOutput.join(' | ')}` : '';
      throw new PlatformError('sandbox_failed', `sandbox ${id} did not start: ${(error as Error).message}${output}`, { cause: error });
    }
  }

  get id(): string {
    return this.setup.id;
  }

  get fn(): SandboxFunction {
    return this.setup.fn;
  }

  get cgroupsPath(): string {
    return this.setup.cgroupsPath;
  }

  /** Called once the sandbox is destroyed, whatever the reason. */
  onGone(listener: () => void): void {
    this.goneListeners.push(listener);
  }

  /** Loads the function's module; returns its failure, if any. */
  async load(): Promise<FunctionErrorInfo | undefined> {
    const { fn } = this.setup;
    const header: LoadHeader = {
      handler: fn.handler,
      codeDir: SANDBOX_CODE_DIR,
      env: fn.environment,
      functionName: fn.name,
      version: fn.version.toString(),
      memoryMb: fn.memoryMb,
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), INIT_TIMEOUT_MS)));
    try {
      const reply = await Promise.race([this.agent.request(FrameType.LOAD, header), timedOut]);
      if (reply === 'timeout') {
        return { type: FunctionErrorType.InitError, message: `the function's module did not load within ${INIT_TIMEOUT_MS / 1000} seconds` };
      }
      if (reply.type === FrameType.OK) return undefined;
      return errorInfo(reply.header, FunctionErrorType.InitError);
    } catch (error) {
      if (!(error instanceof AgentDisconnectedError)) throw error;
      const type = await this.classifyExit();
      return { type, message: `the runtime exited while loading the function (${type})` };
    } finally {
      clearTimeout(timer);
    }
  }

  async invoke(call: SandboxCall, timeoutMs: number): Promise<CallOutcome> {
    if (this.state !== 'ready') throw new PlatformError('sandbox_not_found', `sandbox ${this.id} is being destroyed`);
    const coldStart = this.invocations === 0;
    this.invocations += 1;
    const started = performance.now();
    const finish = (fields: { result?: Uint8Array; functionError?: FunctionErrorInfo }, sandboxLost = false): CallOutcome => ({
      result: {
        callId: call.callId,
        result: fields.result ?? new Uint8Array(0),
        functionError: fields.functionError,
        durationSeconds: (performance.now() - started) / 1000,
        functionVersion: this.fn.version,
        sandboxId: this.id,
        coldStart,
      },
      sandboxLost,
    });

    const header: InvokeHeader = {
      callId: call.callId,
      kind: call.kind,
      contentType: call.contentType,
      http: call.http,
      deadlineMs: Date.now() + timeoutMs,
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    try {
      const reply = await Promise.race([this.agent.request(FrameType.INVOKE, header, call.payload), timedOut]);
      if (reply === 'timeout') {
        this.deps.log.info({ sandbox: this.id, function: this.fn.name, callId: call.callId, timeoutMs }, 'invocation timed out; killing its sandbox');
        await this.destroy({ killFirst: true });
        const seconds = (timeoutMs / 1000).toFixed(2);
        return finish({ functionError: { type: FunctionErrorType.Timeout, message: `Task timed out after ${seconds} seconds` } }, true);
      }
      switch (reply.type) {
        case FrameType.RESULT:
          return finish({ result: reply.body });
        case FrameType.FUNCTION_ERROR:
          return finish({ functionError: errorInfo(reply.header, 'Error') });
        default:
          return finish({ functionError: errorInfo(reply.header, FunctionErrorType.InitError) });
      }
    } catch (error) {
      if (!(error instanceof AgentDisconnectedError)) throw error;
      const destroyedByUs = this.isDestroying() && !this.exitReason;
      const type = await this.classifyExit();
      const message =
        type === FunctionErrorType.OutOfMemory
          ? `the function ran out of memory (limit ${this.fn.memoryMb} MB)`
          : destroyedByUs
            ? 'the sandbox was destroyed while the handler ran'
            : 'the runtime exited while running the handler';
      return finish({ functionError: { type, message } }, true);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the container and removes its bundle; safe to call more than once. */
  destroy(options: { killFirst?: boolean } = {}): Promise<void> {
    this.destroyed ??= this.teardown(options.killFirst ?? false);
    return this.destroyed;
  }

  private async teardown(killFirst: boolean): Promise<void> {
    this.state = 'destroying';
    // The cgroup vanishes with the container: find out why the runtime died first.
    if (this.exitReason) await this.exitReason;
    const { runc, log } = this.deps;
    if (killFirst) await runc.kill(this.id, 'KILL').catch(() => {});
    this.agent.close();
    try {
      await runc.forceDelete(this.id);
    } catch (error) {
      log.warn({ sandbox: this.id, err: error }, 'runc delete failed');
    }
    await rm(this.setup.bundleDir, { recursive: true, force: true }).catch((error: unknown) =>
      log.warn({ sandbox: this.id, err: error }, 'cannot remove the sandbox bundle'),
    );
    for (const listener of this.goneListeners) listener();
  }

  /** A method, so the compiler does not narrow a state that changes across awaits. */
  private isDestroying(): boolean {
    return this.state === 'destroying';
  }

  /** Out of memory or plain exit, read from the cgroup once, before the container is deleted. */
  private classifyExit(): Promise<string> {
    if (this.isDestroying() && !this.exitReason) return Promise.resolve(FunctionErrorType.RuntimeExited);
    this.exitReason ??= ranOutOfMemory(this.cgroupsPath).then(
      (oom) => (oom ? FunctionErrorType.OutOfMemory : FunctionErrorType.RuntimeExited),
      () => FunctionErrorType.RuntimeExited,
    );
    return this.exitReason;
  }
}

function errorInfo(header: unknown, fallbackType: string): FunctionErrorInfo {
  const fields = (header ?? {}) as Partial<ErrorHeader>;
  return {
    type: typeof fields.type === 'string' && fields.type ? fields.type : fallbackType,
    message: typeof fields.message === 'string' ? fields.message : '',
    stack: typeof fields.stack === 'string' ? fields.stack : '',
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
