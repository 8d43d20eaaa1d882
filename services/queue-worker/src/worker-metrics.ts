/** The queue-worker's series: what happens to queued calls and their callbacks. */
import type { JetStreamManager } from '@nats-io/jetstream';
import { metrics } from '@faas/telemetry';
import { DEAD_LETTER_STREAM } from '@faas/protocol';
import { CALLBACK_CONSUMER, CALLBACK_STREAM, STREAM_NAME, WORKER_CONSUMER } from './topology.js';

/** Every attempt of a queued call, by how it ended: ok, function_error, failed (for good), retry or dead_letter. */
export const asyncAttempts = metrics.counter('faas_async_attempts_total', 'attempts of queued calls by how each ended', ['function', 'outcome']);
export const asyncRetries = metrics.counter('faas_async_retries_total', 'queued calls handed back to be tried again', ['function']);
export const asyncDeadLetters = metrics.counter('faas_async_dead_letters_total', 'queued calls moved to the dead-letter stream', ['function']);
export const asyncDurations = metrics.histogram('faas_async_call_seconds', 'duration of each attempt of a queued call, queueing excluded', ['function']);
export const callbackOutcomes = metrics.counter('faas_async_callbacks_total', 'callback deliveries by outcome: delivered, retry, failed, refused', ['outcome']);
/** Messages not yet delivered plus those delivered and not yet acknowledged, per consumer; read at scrape time. */
export const queueDepth = metrics.gauge('faas_async_queue_depth', 'queued messages not yet done, per JetStream consumer', ['stream', 'consumer']);
export const deadLetterDepth = metrics.gauge('faas_async_dead_letter_depth', 'calls kept in the dead-letter stream');

/** Asks JetStream at scrape time: the queue's depth is its state, not something the worker counts. */
export function collectQueueDepth(jsm: JetStreamManager): void {
  metrics.collect(async () => {
    const [worker, callbacks, dead] = await Promise.all([
      jsm.consumers.info(STREAM_NAME, WORKER_CONSUMER),
      jsm.consumers.info(CALLBACK_STREAM, CALLBACK_CONSUMER),
      jsm.streams.info(DEAD_LETTER_STREAM),
    ]);
    queueDepth.get(STREAM_NAME, WORKER_CONSUMER).set(worker.num_pending + worker.num_ack_pending);
    queueDepth.get(CALLBACK_STREAM, CALLBACK_CONSUMER).set(callbacks.num_pending + callbacks.num_ack_pending);
    deadLetterDepth.get().set(dead.state.messages);
  });
}
