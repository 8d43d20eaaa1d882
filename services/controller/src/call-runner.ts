/**
 * Runs one call through the controller: looks the function up, places the
 * call (warm slot, a sandbox being made, or a cold start that makes one in
 * the same exchange as the call), relays it on the funclet's stream, and
 * settles the lease: freed, handed to the edge that asked for it, or taken
 * off the books with its sandbox.
 */
import { randomUUID } from 'node:crypto';
import { PeerGoneError, cancellationOf, type Cancellation } from '@faas/client';
import { PlatformError, isPlatformError } from '@faas/errors';
import { assertCallId, assertQualifiedName, create, fromCallFailure, FunctionConfigSchema, qualifiedNameOf, InvocationResultSchema, InvocationSchema, type CallOutcome, type FunctionConfig, type Invocation, type InvocationResult } from '@faas/protocol';
import { SpanStatusCode, startCallSpan, trace, type TraceHeaders } from '@faas/telemetry';
import { FunctionInitFailed, type LeaseHolder, type LeaseRecord } from './books.js';
import type { FuncletInfo, FuncletPort } from './funclet-port.js';
import type { CreationTicket, Placement } from './placement.js';

export interface FunctionSource {
  /**
   * The config a call of `target` runs: $LATEST ("name"), a published
   * version ("name:3"), or one of an alias's versions ("name:live"), drawn
   * per call by the alias's weights. function_not_found (version_not_found,
   * alias_not_found) when there is no such target.
   */
  get(target: string, options: { deadlineMs: number; signal?: AbortSignal }): Promise<FunctionConfig>;
}

export interface RunOptions {
  /** Absolute deadline of the caller (ms since epoch); Infinity for none. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** The caller's trace context; the controller's span is its child. */
  readonly trace?: TraceHeaders;
  /** Hand the call's slot to this holder as a lease when the call ends well. */
  readonly leaseTo?: LeaseHolder;
}

export interface RunResult {
  readonly result: InvocationResult;
  /** The lease handed to `leaseTo`, when one was. */
  readonly lease?: LeaseRecord;
}

export interface CallRunnerDeps {
  readonly placement: Placement;
  readonly funclets: Pick<FuncletPort, 'call'>;
  readonly functions: FunctionSource;
  readonly now?: () => number;
  readonly newCallId?: () => string;
}

/**
 * Extra time the funclet gets beyond the function's timeout to kill the
 * sandbox and answer with a Timeout error itself.
 */
export const FUNCLET_ANSWER_GRACE_MS = 2_000;
/** Longest a cold start may take (code download and unpacking included) before the call is abandoned. */
const CREATE_SANDBOX_BUDGET_MS = 60_000;
/** Placements of one call: a sandbox the funclet no longer knows, or a full one, sends it elsewhere. */
const MAX_PLACEMENTS = 3;

const tracer = trace.getTracer('controller');

export class CallRunner {
  private readonly now: () => number;
  private readonly newCallId: () => string;

  constructor(private readonly deps: CallRunnerDeps) {
    this.now = deps.now ?? Date.now;
    this.newCallId = deps.newCallId ?? randomUUID;
  }

  async run(input: Invocation | undefined, options: RunOptions): Promise<RunResult> {
    if (!input) throw new PlatformError('bad_request', 'invocation is required');
    assertQualifiedName(input.functionName);
    assertCallId(input.callId);
    const invocation = input.callId ? input : create(InvocationSchema, { ...input, callId: this.newCallId() });
    const { span, next } = startCallSpan(tracer, 'controller place', options.trace ?? {}, { 'faas.function': invocation.functionName, 'faas.call_id': invocation.callId });
    try {
      // Usually from memory; a redeploy still takes effect at once (cached-functions.ts).
      const fn = await this.deps.functions.get(invocation.functionName, options);
      const runs = qualifiedNameOf(fn);
      if (runs === invocation.functionName) return await this.placeAndCall(fn, invocation, options, next);
      // An alias's call names the version it drew, which is what the funclet checks. Its slot is not leased
      // to the edge: the edge would send the alias's next calls straight to that version, whatever the weights.
      return await this.placeAndCall(fn, { ...invocation, functionName: runs }, { ...options, leaseTo: undefined }, next);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: isPlatformError(error) ? error.code : 'internal' });
      throw error;
    } finally {
      span.end();
    }
  }

  private async placeAndCall(fn: FunctionConfig, invocation: Invocation, options: RunOptions, trace: TraceHeaders): Promise<RunResult> {
    const { placement } = this.deps;
    const timeoutMs = fn.timeoutSeconds * 1000;
    const cancellation = options.signal && cancellationOf(options.signal);
    for (let attempt = 1; ; attempt++) {
      let placed;
      try {
        placed = await placement.acquire(fn, options);
      } catch (error) {
        if (error instanceof FunctionInitFailed) return { result: this.initFailure(fn, invocation, error) };
        throw error;
      }
      let lease = placed.kind === 'warm' ? placed.lease : undefined;
      const funclet = placed.kind === 'warm' ? placed.lease.sandbox.funclet : placed.ticket.funclet;
      const budgetMs = timeoutMs + FUNCLET_ANSWER_GRACE_MS + (placed.kind === 'create' ? CREATE_SANDBOX_BUDGET_MS : 0);

      let outcome: CallOutcome;
      try {
        outcome = await this.callOnce(funclet, {
          call: {
            sandboxId: lease?.sandbox.id ?? '',
            ...(placed.kind === 'create' ? creationFields(fn, placed.ticket) : {}),
            invocation,
            timeoutMs,
            traceparent: trace.traceparent,
            tracestate: trace.tracestate,
          },
          deadlineMs: Math.min(options.deadlineMs, this.now() + budgetMs),
          cancellation,
          onCreated: placed.kind === 'create' ? (sandboxId) => (lease = placed.ticket.created(sandboxId)) : undefined,
          // A call given up on still holds its slot until the funclet says it ended.
          onAbandonedCallClosed: () => lease && placement.release(lease),
        });
      } catch (error) {
        if (placed.kind === 'create' && !lease) placed.ticket.failed(error as Error);
        if (error instanceof PeerGoneError) {
          placement.forgetFunclet(funclet.id, 'funclet unreachable');
          throw new PlatformError('service_unavailable', `funclet ${funclet.id} went away during the call: ${error.message}`, { cause: error });
        }
        throw error;
      }

      const stamp = (result: InvocationResult) => this.stamped(result, invocation, { coldStart: placed.kind === 'create', version: fn.version });
      if (placed.kind === 'create' && !lease) {
        // No sandbox came of it: the function did not load, or the funclet refused.
        const initError = outcome.result?.functionError;
        if (initError) {
          placed.ticket.failed(new FunctionInitFailed(initError));
          return { result: stamp(outcome.result!) };
        }
        placed.ticket.failed(outcome.failure ? fromCallFailure(outcome.failure) : new PlatformError('bad_gateway', 'the funclet made no sandbox and gave no reason'));
      }

      if (outcome.failure) {
        const failure = fromCallFailure(outcome.failure);
        if (lease) this.settleFailed(lease, failure.code);
        if ((failure.code === 'sandbox_not_found' || failure.code === 'sandbox_busy') && attempt < MAX_PLACEMENTS) continue;
        throw failure;
      }
      if (!outcome.result) throw new PlatformError('bad_gateway', `funclet ${funclet.id} answered without a result`);
      if (!lease) return { result: stamp(outcome.result) };
      if (outcome.sandboxLost) {
        placement.discard(lease.sandbox, { destroy: false, reason: 'lost' });
        return { result: stamp(outcome.result) };
      }
      const handed = options.leaseTo ? placement.transfer(lease, options.leaseTo) : (placement.release(lease), undefined);
      return { result: stamp(outcome.result), lease: handed };
    }
  }

  /** One call on the funclet's stream; an abandoned one frees its slot only when it is over there too. */
  private callOnce(
    funclet: FuncletInfo,
    request: {
      call: Parameters<FuncletPort['call']>[1];
      deadlineMs: number;
      cancellation?: Cancellation;
      onCreated?: (sandboxId: string) => void;
      onAbandonedCallClosed: () => void;
    },
  ): Promise<CallOutcome> {
    let abandoned = false;
    let closed = false;
    return this.deps.funclets
      .call(funclet, request.call, { deadlineMs: request.deadlineMs, cancellation: request.cancellation, onClosed: () => {
        closed = true;
        if (abandoned) request.onAbandonedCallClosed();
      } }, request.onCreated)
      .catch((error: unknown) => {
        if (!(error instanceof PeerGoneError)) {
          abandoned = true;
          if (closed) request.onAbandonedCallClosed();
        }
        throw error;
      });
  }

  /** What a funclet's refusal means for the sandbox. */
  private settleFailed(lease: LeaseRecord, code: string): void {
    const { placement } = this.deps;
    if (code === 'sandbox_not_found') placement.discard(lease.sandbox, { destroy: false, reason: 'unknown to its funclet' });
    // A failure inside the funclet leaves the sandbox in a state nobody knows: recycle it.
    else if (code === 'internal' || code === 'sandbox_failed') placement.discard(lease.sandbox, { destroy: true, reason: `call failed (${code})` });
    else if (code === 'sandbox_busy') placement.releaseBusy(lease);
    else placement.release(lease);
  }

  private initFailure(fn: FunctionConfig, invocation: Invocation, error: FunctionInitFailed): InvocationResult {
    return create(InvocationResultSchema, { callId: invocation.callId, functionError: error.functionError, functionVersion: fn.version, coldStart: true });
  }

  /**
   * The funclet's result, with what placement knows best: the call id the
   * caller knows it by, whether this call made its sandbox, and the version
   * it was placed on.
   */
  private stamped(result: InvocationResult, invocation: Invocation, placed: { coldStart: boolean; version: bigint }): InvocationResult {
    result.callId = invocation.callId;
    result.coldStart = placed.coldStart;
    result.functionVersion = placed.version;
    return result;
  }
}

/**
 * What a cold-start call tells the funclet about the sandbox to make: the
 * function, admitting as many calls at once as its reservation granted, and
 * the owner and reservation the funclet records with it.
 */
function creationFields(fn: FunctionConfig, ticket: CreationTicket) {
  const config = ticket.slots === fn.concurrencyPerSandbox ? fn : create(FunctionConfigSchema, { ...fn, concurrencyPerSandbox: ticket.slots });
  return { function: config, owner: ticket.owner, reservation: ticket.reservation };
}
