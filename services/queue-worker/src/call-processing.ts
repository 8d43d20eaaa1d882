import { toPlatformError, type PlatformError } from '@faas/errors';
import { AsyncInvocationSchema, CallStatus, create, type CallRecord, type CallbackJob, type DeadLetter, type Invocation, type InvocationResult } from '@faas/protocol';
import { readTraceHeaders, startCallSpan, trace, type Logger, type TraceHeaders } from '@faas/telemetry';
import { finalFailureRecord, finishedRecord, isTerminal, queuedRecord, retryRecord, runningRecord } from './call-records.js';
import type { CallStore } from './call-store.js';
import type { DeadLetterStore } from './dead-letters.js';
import type { FunctionGates } from './function-gates.js';
import type { FunctionSettings, FunctionSettingsSource } from './function-settings.js';
import { decodeMessage, type DecodedCall, type RawMessage } from './message-decoding.js';
import { backoffCeilingMs, judgeFailure, parseRetryAfter, type AttemptFailure } from './retry-policy.js';
import { STORE_RETRY_DELAY_MS, storeRetryDelayMs } from './store-retry.js';
import { asyncAttempts, asyncDeadLetters, asyncDurations, asyncRetries } from './worker-metrics.js';

/** The parts of a JetStream message the tracker and the worker use. */
export interface QueueMessage extends RawMessage {
  /** 1 on the first delivery (handed-back deliveries count too). */
  readonly deliveryCount: number;
  ack(): void;
  nak(delayMs?: number): void;
  term(): void;
  working(): void;
}

export type CallRecords = Pick<CallStore, 'createIfAbsent' | 'put' | 'get'>;

/** What runs a call: the data path's client (@faas/client's Invoker). */
export interface Invoker {
  invoke(invocation: Invocation, options?: { deadlineMs?: number; trace?: TraceHeaders }): Promise<InvocationResult>;
}

/** Queues the delivery of a finished call's outcome (FAAS_CALLBACKS). */
export interface CallbackQueue {
  enqueue(job: Omit<CallbackJob, '$typeName'>, replay: number): Promise<void>;
}

/** Quick retries of one record write inside a single delivery. */
const WRITE_RETRY_BACKOFF = { baseMs: 200, capMs: 5_000 };
/** A call held back by its function's gate comes back within this (plus jitter). */
const GATE_RETRY_MS = 250;
/** Longest function timeout (900 s) plus room for queueing in the controller. */
const INVOKE_TIMEOUT_MS = 960_000;
const tracer = trace.getTracer('queue-worker');

/**
 * The tracker's job: make the call visible as `queued` the moment it is
 * published, before a worker slot is free. Messages that cannot be decoded
 * are left to the worker, which records why.
 */
export async function trackMessage(message: QueueMessage, store: Pick<CallRecords, 'createIfAbsent'>, logger: Logger): Promise<void> {
  const decoded = decodeMessage(message);
  if (!decoded.ok) {
    message.ack();
    return;
  }
  try {
    await store.createIfAbsent(queuedRecord(decoded.call));
    message.ack();
  } catch (error) {
    logger.warn({ err: error, callId: decoded.call.callId }, 'cannot record a queued call; will try again');
    message.nak(storeRetryDelayMs(message.deliveryCount));
  }
}

export interface WorkerDeps {
  readonly store: CallRecords;
  readonly invoker: Invoker;
  readonly settings: FunctionSettingsSource;
  readonly gates: FunctionGates;
  readonly deadLetters: Pick<DeadLetterStore, 'add'>;
  readonly callbacks: CallbackQueue;
  readonly logger: Logger;
  /** Progress acks are sent at a third of this while a call runs. */
  readonly ackWaitMs: number;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Attempts to write a call's record before giving the message back. */
  readonly storeWriteAttempts?: number;
}

/**
 * Runs one delivery of one asynchronous call and settles the message only
 * once its outcome is stored: ack when the call is done (whatever its
 * outcome), nak with a delay when it will be tried again (or when the
 * worker could not even start it), term when it went to the dead letters
 * or can never run. Never throws.
 */
export async function processMessage(message: QueueMessage, deps: WorkerDeps): Promise<void> {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const decoded = decodeMessage(message);
  if (!decoded.ok) return dropUndecodable(message, decoded, deps);

  const { call } = decoded;
  let existing: CallRecord | undefined;
  try {
    existing = await store.get(call.callId);
  } catch (error) {
    logger.warn({ err: error, callId: call.callId }, 'cannot read the call record; will try again');
    return message.nak(storeRetryDelayMs(message.deliveryCount));
  }
  if (existing && (call.replay < existing.replays || (isTerminal(existing) && call.replay === existing.replays))) {
    // A redelivery of a call that already ended (its ack was lost), or of an
    // older run than a replay: the call id is the idempotency key, so it does
    // not run twice. Its callback may not have been queued yet.
    logger.info({ callId: call.callId }, 'call already finished; dropping the redelivery');
    if (isTerminal(existing) && !(await queueCallback(call, deps))) return message.nak(STORE_RETRY_DELAY_MS);
    return message.ack();
  }

  let settings: FunctionSettings;
  try {
    // A version or alias (name:3, name:live) has its own config and its own gate.
    settings = await deps.settings.settingsOf(call.functionName);
  } catch (error) {
    const failure = toPlatformError(error);
    if (failure.code !== 'function_not_found') {
      logger.warn({ err: error, callId: call.callId }, 'cannot read the function\'s settings; will try again');
      return message.nak(storeRetryDelayMs(message.deliveryCount));
    }
    const running = runningRecord(existing, call, (existing?.attempts ?? 0) + 1, now());
    return finish(message, deps, call, finalFailureRecord(running, platformFailure(failure), CallStatus.FAILED, now(), call.callbackUrl), 'ack');
  }

  const gate = deps.gates.tryEnter(call.functionName, settings.maxConcurrency);
  if (!gate.entered) {
    // Back-pressure: the function is at its own limit here, or asked us to wait.
    const random = deps.random ?? Math.random;
    return message.nak(Math.max(gate.retryInMs, GATE_RETRY_MS) + Math.floor(random() * GATE_RETRY_MS));
  }
  let throttledFor: number | undefined;
  try {
    throttledFor = await runAttempt(message, deps, call, existing, settings);
  } finally {
    deps.gates.leave(call.functionName, settings.maxConcurrency, throttledFor === undefined ? 'ok' : 'throttled', throttledFor);
  }
}

/** One attempt of a call the gate let through; returns the wait when the function throttled it. */
async function runAttempt(message: QueueMessage, deps: WorkerDeps, call: DecodedCall, existing: CallRecord | undefined, settings: FunctionSettings): Promise<number | undefined> {
  const now = deps.now ?? Date.now;
  // Attempts are counted in the record rather than taken from the delivery
  // count, so deliveries handed back while Redis was away cost no attempt;
  // a run the worker died in still counts, as its `running` write did.
  const attempt = (existing?.attempts ?? 0) + 1;
  const log = deps.logger.child({ callId: call.callId, function: call.functionName, attempt });
  const running = runningRecord(existing, call, attempt, now());
  if (attempt > settings.retry.maxAttempts) {
    // Only reachable when earlier runs never settled (the worker died mid-call).
    const failure: AttemptFailure = { kind: 'platform', code: 'internal', message: `gave up after ${attempt - 1} attempts that never finished` };
    await deadLetter(message, deps, call, { ...running, attempts: attempt - 1 }, failure);
    return undefined;
  }
  if (!(await tryWrite(() => deps.store.put(running), deps, call.callId))) {
    message.nak(storeRetryDelayMs(message.deliveryCount));
    return undefined;
  }

  const keepAlive = setInterval(() => message.working(), Math.max(500, Math.floor(deps.ackWaitMs / 3)));
  let outcome: { result: InvocationResult } | { failure: AttemptFailure };
  try {
    // NATS has no instrumentation: the publisher's trace context comes in the message headers.
    const { span, next } = startCallSpan(tracer, `process faas.invoke.${call.functionName}`, readTraceHeaders((name) => message.header(name)), {
      'faas.call_id': call.callId,
      'faas.function': call.functionName,
      'faas.attempt': attempt,
    });
    try {
      outcome = await invokeOnce(deps, call.invocation, next);
    } finally {
      span.end();
    }
  } finally {
    clearInterval(keepAlive);
  }

  asyncDurations.get(call.functionName).observe((now() - Number(running.startedAtMs)) / 1000);
  if ('result' in outcome) {
    asyncAttempts.get(call.functionName, outcome.result.functionError ? 'function_error' : 'ok').inc();
    log.debug({ functionError: outcome.result.functionError?.type }, 'call finished');
    await finish(message, deps, call, finishedRecord(running, outcome.result, now(), call.callbackUrl), 'ack');
    return undefined;
  }
  const { failure } = outcome;
  const verdict = judgeFailure(failure, attempt, running.throttles, settings.retry, deps.random);
  switch (verdict.action) {
    case 'retry': {
      log.info({ failure: describe(failure), delayMs: verdict.delayMs, costsAttempt: verdict.costsAttempt }, 'attempt failed; will retry');
      asyncAttempts.get(call.functionName, 'retry').inc();
      asyncRetries.get(call.functionName).inc();
      const written = await tryWrite(() => deps.store.put(retryRecord(running, failure, verdict.costsAttempt, now())), deps, call.callId);
      // Nowhere to keep the outcome: hand the message back rather than lose the call.
      message.nak(written ? verdict.delayMs : STORE_RETRY_DELAY_MS);
      return verdict.costsAttempt ? undefined : verdict.delayMs;
    }
    case 'dead-letter':
      log.warn({ failure: describe(failure) }, 'attempts used up; dead-lettering the call');
      asyncAttempts.get(call.functionName, 'dead_letter').inc();
      asyncDeadLetters.get(call.functionName).inc();
      await deadLetter(message, deps, call, running, failure);
      return undefined;
    case 'fail':
      log.info({ failure: describe(failure) }, 'call failed');
      asyncAttempts.get(call.functionName, 'failed').inc();
      await finish(message, deps, call, finalFailureRecord(running, failure, CallStatus.FAILED, now(), call.callbackUrl), 'ack');
      return undefined;
  }
}

/** Runs the invocation; a result the function shaped as "come back later" (HTTP 429/503) counts as a failure. */
async function invokeOnce(deps: WorkerDeps, invocation: Invocation, traceHeaders: TraceHeaders): Promise<{ result: InvocationResult } | { failure: AttemptFailure }> {
  let result: InvocationResult;
  try {
    result = await deps.invoker.invoke(invocation, { deadlineMs: Date.now() + INVOKE_TIMEOUT_MS, trace: traceHeaders });
  } catch (error) {
    return { failure: platformFailure(toPlatformError(error)) };
  }
  // Whether the function's own error is retried is the policy's call (judgeFailure); the record keeps it either way.
  if (result.functionError) return { failure: { kind: 'function', error: result.functionError } };
  const status = result.httpResponse?.status;
  if (status === 429 || status === 503) {
    const retryAfter = result.httpResponse?.headers.find((header) => header.name.toLowerCase() === 'retry-after')?.value;
    return { failure: { kind: 'http', status, retryAfterMs: parseRetryAfter(retryAfter) } };
  }
  return { result };
}

/** A controller at the function's limit says how long to stay away (retryAfterMs, the faas-retry-after-ms trailer). */
function platformFailure(error: PlatformError): AttemptFailure {
  return { kind: 'platform', code: error.code, message: error.message, retryAfterMs: error.retryAfterMs || undefined };
}

/** The attempts are used up: the request and every attempt's error go to the dead letters, then the record says so. */
async function deadLetter(message: QueueMessage, deps: WorkerDeps, call: DecodedCall, running: CallRecord, failure: AttemptFailure): Promise<void> {
  const now = deps.now ?? Date.now;
  const record = finalFailureRecord(running, failure, CallStatus.DEAD_LETTERED, now(), call.callbackUrl);
  const deadLetter: DeadLetter = {
    $typeName: 'faas.v1.DeadLetter',
    request: create(AsyncInvocationSchema, {
      invocation: call.invocation,
      queuedAtMs: BigInt(call.queuedAtMs),
      callbackUrl: call.callbackUrl,
      replay: call.replay,
      resultSubject: call.resultSubject,
      source: call.source,
    }),
    attemptErrors: record.attemptErrors,
    deadLetteredAtMs: BigInt(now()),
  };
  try {
    await deps.deadLetters.add(deadLetter);
  } catch (error) {
    deps.logger.warn({ err: error, callId: call.callId }, 'cannot write the dead letter; will try again');
    return message.nak(STORE_RETRY_DELAY_MS);
  }
  await finish(message, deps, call, record, 'term');
}

/** Stores a final outcome, queues its callback, then settles: the message goes only once both are safe. */
async function finish(message: QueueMessage, deps: WorkerDeps, call: DecodedCall, record: CallRecord, settle: 'ack' | 'term'): Promise<void> {
  if (!(await tryWrite(() => deps.store.put(record), deps, call.callId))) return message.nak(STORE_RETRY_DELAY_MS);
  if (!(await queueCallback(call, deps))) return message.nak(STORE_RETRY_DELAY_MS);
  if (settle === 'ack') message.ack();
  else message.term();
}

async function queueCallback(call: DecodedCall, deps: WorkerDeps): Promise<boolean> {
  if (!call.callbackUrl && !call.resultSubject) return true;
  try {
    await deps.callbacks.enqueue({ callId: call.callId, functionName: call.functionName, callbackUrl: call.callbackUrl, resultSubject: call.resultSubject }, call.replay);
    return true;
  } catch (error) {
    deps.logger.warn({ err: error, callId: call.callId }, 'cannot queue the callback; will try again');
    return false;
  }
}

async function dropUndecodable(message: QueueMessage, decoded: { reason: string; callId?: string; functionName?: string }, deps: WorkerDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  deps.logger.warn({ subject: message.subject, callId: decoded.callId, reason: decoded.reason }, 'dropping a message that cannot run');
  if (decoded.callId) {
    const call = { callId: decoded.callId, functionName: decoded.functionName ?? '', queuedAtMs: message.storedAtMs };
    const record = finalFailureRecord(runningRecord(undefined, call, 1, now()), { kind: 'platform', code: 'bad_request', message: decoded.reason }, CallStatus.FAILED, now());
    if (!(await tryWrite(() => deps.store.put(record), deps, decoded.callId))) return message.nak(STORE_RETRY_DELAY_MS);
  }
  message.term();
}

function describe(failure: AttemptFailure): string {
  if (failure.kind === 'platform') return failure.code;
  if (failure.kind === 'http') return `HTTP ${failure.status}`;
  return `function error ${failure.error.type}`;
}

async function tryWrite(write: () => Promise<void>, deps: WorkerDeps, callId: string): Promise<boolean> {
  const attempts = deps.storeWriteAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return true;
    } catch (error) {
      if (attempt >= attempts) {
        deps.logger.error({ err: error, callId }, 'cannot write the call record');
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, backoffCeilingMs(attempt, WRITE_RETRY_BACKOFF)));
    }
  }
}
