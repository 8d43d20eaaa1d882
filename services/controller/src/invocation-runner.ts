import { randomUUID } from 'node:crypto';
import { PlatformError, isPlatformError } from '@faas/errors';
import { assertCallId, assertFunctionName, create, InvocationResultSchema, InvocationSchema, type FunctionConfig, type Invocation, type InvocationResult } from '@faas/protocol';
import { FuncletUnreachableError, type FuncletPort } from './funclet-port.js';
import type { Scheduler } from './scheduler.js';

export interface FunctionSource {
  /** The function's current config; function_not_found when it does not exist. */
  get(name: string, options: { deadlineMs: number; signal?: AbortSignal }): Promise<FunctionConfig>;
}

export interface RunOptions {
  /** Absolute deadline of the caller (ms since epoch); Infinity for none. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

export interface InvocationRunnerDeps {
  readonly scheduler: Scheduler;
  readonly funclets: FuncletPort;
  readonly functions: FunctionSource;
  readonly now?: () => number;
  readonly newCallId?: () => string;
}

/**
 * Extra time the funclet gets beyond the function's timeout to kill the
 * sandbox and answer with a Timeout error itself.
 */
export const FUNCLET_ANSWER_GRACE_MS = 2_000;

/**
 * Runs one invocation: looks the function up, leases a sandbox, calls the
 * funclet and gives the sandbox back (or forgets it when it is lost).
 */
export class InvocationRunner {
  private readonly now: () => number;
  private readonly newCallId: () => string;

  constructor(private readonly deps: InvocationRunnerDeps) {
    this.now = deps.now ?? Date.now;
    this.newCallId = deps.newCallId ?? randomUUID;
  }

  async run(input: Invocation | undefined, options: RunOptions): Promise<InvocationResult> {
    if (!input) throw new PlatformError('bad_request', 'invocation is required');
    assertFunctionName(input.functionName);
    assertCallId(input.callId);
    const startedMs = this.now();
    const callId = input.callId || this.newCallId();
    const invocation = create(InvocationSchema, { ...input, callId });

    // Usually from memory; a redeploy still takes effect at once (cached-functions.ts).
    const fn = await this.deps.functions.get(input.functionName, options);
    const finish = (
      result: Pick<InvocationResult, 'coldStart'> & Partial<Pick<InvocationResult, 'result' | 'functionError' | 'sandboxId' | 'logTail'>>,
    ): InvocationResult =>
      create(InvocationResultSchema, {
        result: result.result,
        logTail: result.logTail,
        functionError: result.functionError,
        sandboxId: result.sandboxId,
        coldStart: result.coldStart,
        callId,
        functionVersion: fn.version,
        durationSeconds: (this.now() - startedMs) / 1000,
      });

    // A sandbox the funclet no longer knows is retried once on another one.
    for (let attempt = 1; ; attempt++) {
      const lease = await this.deps.scheduler.lease(fn, options);
      if (lease.kind === 'init_error') return finish({ functionError: lease.error, coldStart: true });

      const { sandbox, coldStart } = lease;
      if (options.signal?.aborted) {
        // Gave up while the sandbox was being found; it is fine for the next call.
        this.deps.scheduler.release(sandbox);
        throw new PlatformError('deadline_exceeded', 'the caller gave up before the function started');
      }
      const timeoutMs = fn.timeoutSeconds * 1000;
      try {
        const outcome = await this.deps.funclets.invoke(sandbox.funclet, sandbox.id, invocation, timeoutMs, {
          deadlineMs: Math.min(options.deadlineMs, this.now() + timeoutMs + FUNCLET_ANSWER_GRACE_MS),
          signal: options.signal,
        });
        if (outcome.sandboxLost) this.deps.scheduler.discard(sandbox, { destroy: false, reason: 'lost' });
        else this.deps.scheduler.release(sandbox);
        const { result, functionError, logTail } = outcome.result;
        return finish({ result, functionError, sandboxId: sandbox.id, coldStart, logTail });
      } catch (error) {
        if (options.signal?.aborted) {
          // The sandbox may still be running the abandoned call.
          this.deps.scheduler.discard(sandbox, { destroy: true, reason: 'caller gave up' });
          throw new PlatformError('deadline_exceeded', 'the caller gave up before the function finished', { cause: error });
        }
        if (error instanceof FuncletUnreachableError) {
          this.deps.scheduler.forgetFunclet(sandbox.funclet.id, 'funclet unreachable');
          throw new PlatformError('service_unavailable', `funclet ${sandbox.funclet.id} is unreachable: ${error.message}`, { cause: error });
        }
        if (isPlatformError(error) && error.code === 'sandbox_not_found') {
          this.deps.scheduler.discard(sandbox, { destroy: false, reason: 'unknown to its funclet' });
          if (attempt < 2) continue;
          throw error;
        }
        // Any other failure leaves the sandbox in an unknown state: recycle it.
        this.deps.scheduler.discard(sandbox, { destroy: true, reason: 'invoke failed' });
        throw error;
      }
    }
  }
}
