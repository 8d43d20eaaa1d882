/**
 * One sandbox: a runc container running a runtime's generic agent, booted
 * before anyone knows which function it will serve (the pool), then
 * specialised once for one function version (code made visible at
 * /var/task, limits resized, LOAD), and destroyed afterwards; never reused for
 * another function. It admits at most its function's concurrency per
 * sandbox at once, whatever its callers believe. Knows nothing about gRPC.
 *
 * How the code gets into a container that is already running: the bundle
 * binds /var/task from the per-sandbox host directory `<bundle>/code` with
 * slave propagation, and the sandboxes directory is a shared mount. Mounting
 * a read-only view of the code (mount-helper.ts) onto `<bundle>/code` on the
 * host therefore propagates into the container as a read-only mount over
 * /var/task: one mount(2), no restart. A custom runtime's bundle reaches
 * /opt/runtime the same way, from `<bundle>/runtime`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError, FunctionErrorType, type FunctionErrorInfo } from '@faas/errors';
import type { HttpResponse } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import { FrameType, type HttpRequestHeader, type InvokeHeader, type LoadHeader, type LogHeader, type SpansHeader } from '../agent/wire.js';
import type { LogSink, LogSource } from '../log-sink.js';
import { AgentDisconnectedError, AgentTimeoutError, type AgentClient } from './agent-client.js';
import { errorInfo, invokeReplyFields, type ReplyFields } from './agent-replies.js';
import type { CgroupDriver } from './cgroup-driver.js';
import { codeMountPoint, runtimeMountPoint, secretsMountPoint, startContainer, type SandboxSetup } from './container-start.js';
import type { HostCommand } from './host-command.js';
import { applyLimitChanges } from './limit-changes.js';
import { EMPTY_LAYER, type Mounter } from './mount-helper.js';
import type { SandboxLimits } from './limits.js';
import type { NetworkNamespace } from './netns-pool.js';
import { SANDBOX_CODE_DIR } from './oci-spec.js';
import type { Runc } from './runc.js';

export type { SandboxSetup } from './container-start.js';

/** How long a function's module may take to load (its top-level code included). */
const INIT_TIMEOUT_MS = 10_000;

export interface SandboxFunction {
  readonly name: string;
  /** What calls name it by: "name" for $LATEST, "name:N" for published version N. */
  readonly qualifiedName: string;
  readonly version: bigint;
  readonly handler: string;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
  /** Calls the sandbox serves at once. */
  readonly concurrency: number;
}

export interface SandboxCall {
  readonly callId: string;
  readonly kind: 'event' | 'http';
  readonly payload: Uint8Array;
  readonly contentType: string;
  readonly http?: HttpRequestHeader;
  /** Return the end of the call's output as `logTail`. */
  readonly wantLogTail?: boolean;
  /** W3C trace context handed to the handler. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** The CloudEvent's attributes, when the event came as one. */
  readonly cloudEvent?: Readonly<Record<string, string>>;
  /** Spans are recorded: the agent reports its own and the handler's (SPANS frames). */
  readonly recordSpans?: boolean;
}

export interface CallResult {
  readonly callId: string;
  /** An event call's JSON-encoded return value (empty on error and for HTTP calls). */
  readonly result: Uint8Array;
  /** An HTTP call's checked answer. */
  readonly httpResponse?: HttpResponse;
  readonly functionError?: FunctionErrorInfo;
  readonly durationSeconds: number;
  readonly functionVersion: bigint;
  readonly sandboxId: string;
  readonly coldStart: boolean;
  /** The last bytes the call wrote to stdout/stderr, when asked for. */
  readonly logTail?: Uint8Array;
}

export interface CallOutcome {
  readonly result: CallResult;
  /** The sandbox is gone (killed on timeout, crashed, out of memory). */
  readonly sandboxLost: boolean;
}

export interface SandboxDeps {
  readonly runc: Runc;
  readonly log: Logger;
  readonly cgroups: CgroupDriver;
  readonly run: HostCommand;
  /** Binds the code into a running sandbox (and undoes it) without a fork per call. */
  readonly mounter: Mounter;
  /** Called once the container is gone, to scrub and reuse its network namespace. */
  readonly releaseNetns: (netns: NetworkNamespace) => void;
  /** Where the function's output (LOG frames) goes; dropped when absent. */
  readonly logSink?: LogSink;
  /** Where the spans the agent reports go (SPANS frames); dropped when absent. */
  readonly onSpans?: (header: SpansHeader) => void;
}

/** How long the specialisation took, in ms. */
export interface SpecialiseTimings {
  readonly mountMs: number;
  readonly limitsMs: number;
  readonly loadMs: number;
}

type State = 'generic' | 'specialising' | 'ready' | 'destroying';

export class Sandbox {
  private state: State = 'generic';
  private function?: SandboxFunction;
  private limits: SandboxLimits;
  /** Host mount points holding a view this sandbox mounted (detached at teardown). */
  private readonly views: string[] = [];
  private invocations = 0;
  private running = 0;
  /** When the last call ended (or the sandbox was made): the owner recycles idle sandboxes by it. */
  private quietSinceMs = Date.now();
  private exitReason?: Promise<string>;
  private source?: LogSource;
  private destroyed?: Promise<void>;
  private readonly goneListeners: Array<() => void> = [];

  private constructor(
    private readonly setup: SandboxSetup,
    private readonly deps: SandboxDeps,
    readonly pid: number,
    private readonly agent: AgentClient,
  ) {
    this.limits = setup.limits;
    agent.onUnsolicited((frame) => {
      if (frame.type === FrameType.LOG && this.function) deps.logSink?.write(this.logSource(), frame.header as LogHeader, frame.body);
      else if (frame.type === FrameType.SPANS) deps.onSpans?.(frame.header as SpansHeader);
    });
    agent.onClose(() => {
      if (this.state === 'destroying') return;
      void this.classifyExit()
        .then((reason) => deps.log.warn({ sandbox: setup.id, function: this.function?.name, reason }, 'sandbox runtime exited'))
        .finally(() => this.destroy());
    });
  }

  /** Starts the container and connects to its agent. The sandbox is generic until `specialise`. */
  static async boot(setup: SandboxSetup, deps: SandboxDeps): Promise<Sandbox> {
    // The container's log lines name the function once the sandbox has one.
    const made: { sandbox?: Sandbox } = {};
    const { pid, agent } = await startContainer(setup, deps, () => made.sandbox?.function?.name);
    made.sandbox = new Sandbox(setup, deps, pid, agent);
    return made.sandbox;
  }

  get id(): string {
    return this.setup.id;
  }

  get runtime(): string {
    return this.setup.runtime;
  }

  /** The function this sandbox serves; throws while it is still generic. */
  get fn(): SandboxFunction {
    if (!this.function) throw new PlatformError('internal', `sandbox ${this.id} serves no function yet`);
    return this.function;
  }

  get isGeneric(): boolean {
    return this.state === 'generic';
  }

  get isGone(): boolean {
    return this.state === 'destroying';
  }

  get memoryLimitBytes(): number {
    return this.limits.memoryBytes;
  }

  get cgroupsPath(): string {
    return this.setup.cgroupsPath;
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.running;
  }

  /** How long it has run no call; 0 while one runs. */
  idleMs(now = Date.now()): number {
    return this.running > 0 ? 0 : Math.max(0, now - this.quietSinceMs);
  }

  /** Called once the sandbox is destroyed, whatever the reason. */
  onGone(listener: () => void): void {
    this.goneListeners.push(listener);
  }

  /**
   * Turns the generic sandbox into one function's: its code appears
   * read-only at /var/task (a custom runtime's bundle at /opt/runtime), the
   * cgroup gets the function's limits, and the agent loads the module.
   * Returns the module's load failure, if any (the caller then destroys the
   * sandbox). Once only.
   */
  async specialise(
    fn: SandboxFunction,
    bundles: { readonly codeDir: string; readonly runtimeDir?: string; readonly secrets?: Readonly<Record<string, Uint8Array>> },
    limits: SandboxLimits,
  ): Promise<{ initError?: FunctionErrorInfo; timings: SpecialiseTimings }> {
    if (this.state !== 'generic') throw new PlatformError('internal', `sandbox ${this.id} was already specialised`);
    if (bundles.runtimeDir && !this.setup.runtimeBundle) throw new PlatformError('internal', `sandbox ${this.id} has no place for a runtime bundle`);
    this.state = 'specialising';
    this.function = fn;
    const started = performance.now();
    await this.mountView(bundles.codeDir, codeMountPoint(this.setup));
    if (bundles.runtimeDir) await this.mountView(bundles.runtimeDir, runtimeMountPoint(this.setup));
    if (bundles.secrets && Object.keys(bundles.secrets).length > 0) await this.mountView(await this.writeSecretFiles(bundles.secrets), secretsMountPoint(this.setup));
    const mounted = performance.now();
    await applyLimitChanges(this, this.limits, limits, this.deps);
    this.limits = limits;
    const limited = performance.now();
    const initError = await this.load(fn);
    const timings = timingsOf(started, mounted, limited);
    if (this.isDestroying()) return { initError: initError ?? { type: FunctionErrorType.RuntimeExited, message: 'the sandbox was destroyed while loading' }, timings };
    this.state = 'ready';
    return { initError, timings };
  }

  /**
   * The secret files, in the sandbox's own bundle folder (the sandboxes
   * tmpfs: never on disk, removed with the sandbox), readable by the
   * sandbox's user and nobody's to change. Returns the folder to view.
   */
  private async writeSecretFiles(secrets: Readonly<Record<string, Uint8Array>>): Promise<string> {
    const viewsDir = join(this.setup.bundleDir, 'secret-views');
    const filesDir = join(viewsDir, 'files');
    await mkdir(join(viewsDir, EMPTY_LAYER), { recursive: true, mode: 0o755 });
    await mkdir(filesDir, { mode: 0o755 });
    // Names are checked by stubs (no "/", not "." or ".."): each is one file here.
    for (const [name, value] of Object.entries(secrets)) await writeFile(join(filesDir, name), value, { mode: 0o444 });
    return filesDir;
  }

  private async mountView(dir: string, mountPoint: string): Promise<void> {
    await this.deps.mounter.view(dir, mountPoint);
    this.views.push(mountPoint);
  }

  /** Loads the function's module; returns its failure, if any. */
  private async load(fn: SandboxFunction): Promise<FunctionErrorInfo | undefined> {
    const header: LoadHeader = {
      handler: fn.handler,
      codeDir: SANDBOX_CODE_DIR,
      env: fn.environment,
      functionName: fn.name,
      version: fn.version.toString(),
      memoryMb: fn.memoryMb,
    };
    try {
      const reply = await this.agent.request(FrameType.LOAD, INIT_TIMEOUT_MS, header);
      if (reply.type === FrameType.OK) return undefined;
      return errorInfo(reply.header, FunctionErrorType.InitError);
    } catch (error) {
      if (error instanceof AgentTimeoutError) {
        return { type: FunctionErrorType.InitError, message: `the function's module did not load within ${INIT_TIMEOUT_MS / 1000} seconds` };
      }
      if (!(error instanceof AgentDisconnectedError)) throw error;
      const type = await this.classifyExit();
      return { type, message: `the runtime exited while loading the function (${type})` };
    }
  }

  /**
   * Whether the agent of an idle ready sandbox still answers within
   * `timeoutMs` (true for a busy or unready one: its calls have their own
   * deadlines). An agent that is stopped or stuck outside any call would
   * otherwise only be found by the next call, which would then time out.
   */
  async answers(timeoutMs: number): Promise<boolean> {
    if (this.state !== 'ready' || this.running > 0) return true;
    try {
      await this.agent.request(FrameType.PING, timeoutMs);
      return true;
    } catch (error) {
      if (error instanceof AgentTimeoutError) return this.running > 0 || this.state !== 'ready';
      // A closed connection: the sandbox is on its way out already.
      return true;
    }
  }

  /**
   * Runs one call. Refused with sandbox_busy when the sandbox already runs as
   * many calls as its function allows: the caller then places it elsewhere.
   */
  async invoke(call: SandboxCall, timeoutMs: number): Promise<CallOutcome> {
    if (this.state === 'destroying') throw new PlatformError('sandbox_not_found', `sandbox ${this.id} is being destroyed`);
    if (this.state !== 'ready') throw new PlatformError('sandbox_not_found', `sandbox ${this.id} serves no function yet`);
    if (this.running >= this.fn.concurrency) {
      throw new PlatformError('sandbox_busy', `sandbox ${this.id} is already running ${this.running} calls, as many as its function allows`);
    }
    this.running += 1;
    try {
      return await this.run(call, timeoutMs);
    } finally {
      this.running -= 1;
      if (this.running === 0) this.quietSinceMs = Date.now();
    }
  }

  private async run(call: SandboxCall, timeoutMs: number): Promise<CallOutcome> {
    const coldStart = this.invocations === 0;
    this.invocations += 1;
    const started = performance.now();
    this.deps.logSink?.startCall(call.callId, this.logSource());
    const finish = (fields: ReplyFields, sandboxLost = false): CallOutcome => ({
      result: {
        logTail: this.finishLog(call),
        callId: call.callId,
        result: fields.result ?? new Uint8Array(0),
        httpResponse: fields.httpResponse,
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
      traceparent: call.traceparent,
      tracestate: call.tracestate,
      cloudEvent: call.cloudEvent,
      recordSpans: call.recordSpans,
    };
    try {
      const reply = await this.agent.request(FrameType.INVOKE, timeoutMs, header, call.payload);
      try {
        return finish(invokeReplyFields(reply, call.kind));
      } catch (error) {
        this.finishLog(call);
        throw error;
      }
    } catch (error) {
      if (error instanceof AgentTimeoutError) {
        this.deps.log.info({ sandbox: this.id, function: this.fn.name, callId: call.callId, timeoutMs }, 'invocation timed out; killing its sandbox');
        await this.destroy({ killFirst: true });
        const seconds = (timeoutMs / 1000).toFixed(2);
        return finish({ functionError: { type: FunctionErrorType.Timeout, message: `Task timed out after ${seconds} seconds` } }, true);
      }
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
    }
  }

  /** Made once: the same for every call of the sandbox's one function. */
  private logSource(): LogSource {
    this.source ??= { functionName: this.fn.name, version: this.fn.version, sandboxId: this.id };
    return this.source;
  }

  /** Ends the call's log capture; its tail when the caller asked for one. */
  private finishLog(call: SandboxCall): Uint8Array | undefined {
    const tail = this.deps.logSink?.finishCall(call.callId);
    return call.wantLogTail ? (tail ?? new Uint8Array(0)) : undefined;
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
    for (const mountPoint of this.views) {
      await this.deps.mounter.detach(mountPoint).catch((error: unknown) => log.warn({ sandbox: this.id, err: error }, 'cannot unmount a bundle of the sandbox'));
    }
    await rm(this.setup.bundleDir, { recursive: true, force: true }).catch((error: unknown) =>
      log.warn({ sandbox: this.id, err: error }, 'cannot remove the sandbox bundle'),
    );
    // runc delete removes the cgroup; this only catches what it could not.
    await this.deps.cgroups.remove(this.cgroupsPath).catch(() => false);
    this.deps.releaseNetns(this.setup.netns);
    for (const listener of this.goneListeners) listener();
  }

  /** A method, so the compiler does not narrow a state that changes across awaits. */
  private isDestroying(): boolean {
    return this.state === 'destroying';
  }

  /** Out of memory or plain exit, read from the cgroup once, before the container is deleted. */
  private classifyExit(): Promise<string> {
    if (this.isDestroying() && !this.exitReason) return Promise.resolve(FunctionErrorType.RuntimeExited);
    this.exitReason ??= this.deps.cgroups.oomKilled(this.cgroupsPath).then(
      (oom) => (oom ? FunctionErrorType.OutOfMemory : FunctionErrorType.RuntimeExited),
      () => FunctionErrorType.RuntimeExited,
    );
    return this.exitReason;
  }
}

function timingsOf(started: number, mounted: number, limited: number): SpecialiseTimings {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { mountMs: round(mounted - started), limitsMs: round(limited - mounted), loadMs: round(performance.now() - limited) };
}
