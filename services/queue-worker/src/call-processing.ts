import { toPlatformError } from '@faas/errors';
import type { CallRecord, Invocation, InvocationResult } from '@faas/protocol';
import { readTraceHeaders, startCallSpan, trace, type Logger, type TraceHeaders } from '@faas/telemetry';
import { finishedRecord, isTerminal, platformFailureRecord, queuedRecord, runningRecord } from './call-records.js';
import type { CallStore } from './call-store.js';
import { decodeMessage, type RawMessage } from './message-decoding.js';
import { backoffDelayMs, decideRetry, isRetryable } from './retry-policy.js';

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

/** How long to wait before trying a message again when Redis cannot be reached. */
export const STORE_RETRY_DELAY_MS = 2_000;
const STORE_RETRY_MAX_DELAY_MS = 30_000;
/** Quick retries of one record write inside a single delivery. */
const WRITE_RETRY_BACKOFF = { baseMs: 200, capMs: 5_000 };

/** Waits grow with each delivery so a long Redis outage is not a busy loop. */
export function storeRetryDelayMs(deliveryCount: number): number {
  return backoffDelayMs(deliveryCount, { baseMs: STORE_RETRY_DELAY_MS, capMs: STORE_RETRY_MAX_DELAY_MS });
}
/** Longest function timeout (900 s) plus room for queueing in the controller. */
const INVOKE_TIMEOUT_MS = 960_000;
const tracer = trace.getTracer('queue-worker');

/**
 * The tracker's job: make the call visible as `queued` the moment it is
 * published, before a worker slot is free. Messages that cannot be decoded
 * are left to the worker, which records why.
 */
export async function trackMessage(message: QueueMessage, store: CallRecords, logger: Logger): Promise<void> {
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
  readonly logger: Logger;
  readonly maxAttempts: number;
  /** Progress acks are sent at a third of this while a call runs. */
  readonly ackWaitMs: number;
  readonly now?: () => number;
  /** Attempts to write a finished call's record before giving the message back. */
  readonly storeWriteAttempts?: number;
}

/**
 * Runs one delivery of one asynchronous call and settles the message:
 * ack when the call is done (whatever its outcome), nak with a delay when a
 * passing platform failure may clear, term when attempts are used up or
 * the message can never run. Never throws.
 */
export async function processMessage(message: QueueMessage, deps: WorkerDeps): Promise<void> {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const decoded = decodeMessage(message);
  if (!decoded.ok) {
    logger.warn({ subject: message.subject, callId: decoded.callId, reason: decoded.reason }, 'dropping a message that cannot run');
    if (decoded.callId) {
      const record = platformFailureRecord(
        queuedRecord({ callId: decoded.callId, functionName: decoded.functionName ?? '', queuedAtMs: message.storedAtMs }),
        'bad_request',
        decoded.reason,
        true,
        now(),
      );
      if (!(await tryWrite(() => store.put(record), deps, decoded.callId))) return message.nak(STORE_RETRY_DELAY_MS);
    }
    return message.term();
  }

  const { call } = decoded;
  let existing: CallRecord | undefined;
  try {
    existing = await store.get(call.callId);
  } catch (error) {
    logger.warn({ err: error, callId: call.callId }, 'cannot read the call record; will try again');
    return message.nak(storeRetryDelayMs(message.deliveryCount));
  }
  if (isTerminal(existing)) {
    // A redelivery of a call that already ended (its ack was lost): the
    // call id is the idempotency key, so it does not run twice.
    logger.info({ callId: call.callId }, 'call already finished; dropping the redelivery');
    return message.ack();
  }
  // Attempts are counted in the record rather than taken from the delivery
  // count, so deliveries handed back while Redis was away cost no attempt;
  // a run the worker died in still counts, as its `running` write did.
  const attempt = (existing?.attempts ?? 0) + 1;
  const log = logger.child({ callId: call.callId, function: call.functionName, attempt });

  const running = runningRecord(call, attempt, now());
  if (attempt > deps.maxAttempts) {
    // Only reachable when earlier runs never settled (the worker died mid-call).
    const record = platformFailureRecord(running, 'internal', `gave up after ${attempt - 1} attempts that never finished`, true, now());
    if (!(await tryWrite(() => store.put(record), deps, call.callId))) return message.nak(STORE_RETRY_DELAY_MS);
    return message.term();
  }
  try {
    await store.put(running);
  } catch (error) {
    log.warn({ err: error }, 'cannot record the call as running; will try again');
    return message.nak(storeRetryDelayMs(message.deliveryCount));
  }

  const keepAlive = setInterval(() => message.working(), Math.max(500, Math.floor(deps.ackWaitMs / 3)));
  try {
    // NATS has no instrumentation: the publisher's trace context comes in the message headers.
    const { span, next } = startCallSpan(tracer, `process faas.invoke.${call.functionName}`, readTraceHeaders((name) => message.header(name)), {
      'faas.call_id': call.callId,
      'faas.function': call.functionName,
      'faas.attempt': attempt,
    });
    let settle: () => void;
    try {
      settle = await runOnce(next);
    } finally {
      span.end();
    }
    settle();
  } finally {
    clearInterval(keepAlive);
  }

  /** Invokes, records the outcome, and returns how to settle the message. */
  async function runOnce(trace: TraceHeaders): Promise<() => void> {
    let record: CallRecord;
    let settle: () => void;
    try {
      const result = await deps.invoker.invoke(call.invocation, { deadlineMs: Date.now() + INVOKE_TIMEOUT_MS, trace });
      record = finishedRecord(running, result, now());
      settle = () => message.ack();
      log.debug({ functionError: record.functionError?.type }, 'call finished');
    } catch (error) {
      const failure = toPlatformError(error);
      const decision = decideRetry(failure.code, attempt, deps.maxAttempts);
      record = platformFailureRecord(running, failure.code, failure.message, !decision.retry, now());
      if (decision.retry) {
        log.warn({ code: failure.code, delayMs: decision.delayMs }, 'platform failure; will retry');
        settle = () => message.nak(decision.delayMs);
      } else {
        log.warn({ code: failure.code, message: failure.message }, 'call failed');
        settle = isRetryable(failure.code) ? () => message.term() : () => message.ack();
      }
    }
    if (!(await tryWrite(() => store.put(record), deps, call.callId))) {
      // Nowhere to keep the outcome: hand the message back rather than lose the call.
      return () => message.nak(STORE_RETRY_DELAY_MS);
    }
    return settle;
  }
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
      await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, WRITE_RETRY_BACKOFF)));
    }
  }
}
