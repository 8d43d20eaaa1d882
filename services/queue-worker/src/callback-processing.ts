import { CallbackJobSchema, CallbackStatus, create, fromBinary, CallbackDeliverySchema, type CallRecord, type CallbackJob } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import type { CallRecords, QueueMessage } from './call-processing.js';
import { callbackRequest, type CallbackRequest } from './callback-request.js';
import type { TargetVerdict } from './callback-targets.js';
import type { FunctionSettingsSource } from './function-settings.js';
import { fullJitterDelayMs, type BackoffOptions } from './retry-policy.js';
import { storeRetryDelayMs } from './store-retry.js';
import { callbackOutcomes } from './worker-metrics.js';

export interface CallbackDeps {
  readonly store: Pick<CallRecords, 'get' | 'put'>;
  readonly settings: FunctionSettingsSource;
  readonly targets: { check(url: string): Promise<TargetVerdict> };
  /** POSTs the callback; resolves with the target's status, rejects when there was no answer. */
  readonly post: (url: string, request: CallbackRequest) => Promise<number>;
  /** Publishes the outcome on a NATS subject (core NATS). */
  readonly publishResult: (subject: string, request: CallbackRequest) => void;
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * One delivery of a finished call's outcome (a job in FAAS_CALLBACKS): to
 * its result subject, then to its callback URL, retried with backoff until
 * the target answers 2xx or the attempts are used. The delivery's progress
 * is part of the call record, so GET /v1/calls/{id} shows it.
 */
export async function deliverCallback(message: QueueMessage, deps: CallbackDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  let job: CallbackJob;
  try {
    job = fromBinary(CallbackJobSchema, message.data);
  } catch (error) {
    deps.logger.warn({ err: error }, 'dropping an undecodable callback job');
    return message.term();
  }
  const log = deps.logger.child({ callId: job.callId, function: job.functionName });
  let record: CallRecord | undefined;
  try {
    record = await deps.store.get(job.callId);
  } catch (error) {
    log.warn({ err: error }, 'cannot read the call record for its callback; will try again');
    return message.nak(storeRetryDelayMs(message.deliveryCount));
  }
  // Expired with its retention: nothing left to send.
  if (!record) return message.ack();

  let secret = '';
  try {
    secret = (await deps.settings.settingsOf(job.functionName)).callbackSecret;
  } catch (error) {
    // A deleted function's calls still get their callbacks; a stubs outage waits.
    if ((error as { code?: string }).code !== 'function_not_found') {
      log.warn({ err: error }, 'cannot read the function\'s callback secret; will try again');
      return message.nak(storeRetryDelayMs(message.deliveryCount));
    }
  }
  const request = callbackRequest(record, secret, now());

  // The result subject is told once, on the first delivery: NATS subscribers are there or not.
  if (job.resultSubject && message.deliveryCount === 1) deps.publishResult(job.resultSubject, request);
  if (!job.callbackUrl) return message.ack();

  const delivery = record.callback ?? create(CallbackDeliverySchema, { url: job.callbackUrl, status: CallbackStatus.PENDING });
  if (delivery.status !== CallbackStatus.PENDING) return message.ack();

  const verdict = await deps.targets.check(job.callbackUrl);
  if (!verdict.allowed) {
    log.warn({ url: job.callbackUrl, reason: verdict.reason }, 'callback refused');
    callbackOutcomes.get('refused').inc();
    return settle(message, deps, { ...record, callback: { ...delivery, status: CallbackStatus.REFUSED, lastError: verdict.reason } }, () => message.ack());
  }

  const attempt = delivery.attempts + 1;
  let status = 0;
  let problem = '';
  try {
    status = await deps.post(job.callbackUrl, request);
    if (status < 200 || status > 299) problem = `the target answered HTTP ${status}`;
  } catch (error) {
    problem = (error as Error).message;
  }
  if (!problem) {
    callbackOutcomes.get('delivered').inc();
    const delivered = { ...delivery, status: CallbackStatus.DELIVERED, attempts: attempt, responseStatus: status, lastError: '', deliveredAtMs: BigInt(now()) };
    return settle(message, deps, { ...record, callback: delivered }, () => message.ack());
  }
  const failed = attempt >= deps.maxAttempts;
  const next = { ...delivery, status: failed ? CallbackStatus.FAILED : CallbackStatus.PENDING, attempts: attempt, responseStatus: status, lastError: problem };
  callbackOutcomes.get(failed ? 'failed' : 'retry').inc();
  if (failed) {
    log.warn({ url: job.callbackUrl, attempts: attempt, problem }, 'callback failed for good');
    return settle(message, deps, { ...record, callback: next }, () => message.ack());
  }
  const delayMs = fullJitterDelayMs(attempt, deps.backoff, deps.random);
  log.info({ url: job.callbackUrl, attempt, problem, delayMs }, 'callback failed; will retry');
  return settle(message, deps, { ...record, callback: next }, () => message.nak(delayMs));
}

async function settle(message: QueueMessage, deps: CallbackDeps, record: CallRecord, then: () => void): Promise<void> {
  try {
    await deps.store.put(record);
  } catch (error) {
    deps.logger.warn({ err: error, callId: record.callId }, 'cannot record the callback\'s delivery; will try again');
    return message.nak(storeRetryDelayMs(message.deliveryCount));
  }
  then();
}

/** POST with a time limit; `fetch` follows no redirects here (a redirect could lead past the allow-list). */
export function httpPoster(timeoutMs: number) {
  return async (url: string, request: CallbackRequest): Promise<number> => {
    const response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    return response.status;
  };
}
