import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT_PREFIX, INVOCATION_SUBJECT_PREFIX } from '@faas/protocol';

/** Names fixed by docs/design.md "Async invocations". */
export const STREAM_NAME = 'FAAS_INVOCATIONS';
const STREAM_SUBJECTS = `${INVOCATION_SUBJECT_PREFIX}>`;
export const TRACKER_CONSUMER = 'tracker';
export const WORKER_CONSUMER = 'worker';
/** Outcomes to deliver to callback URLs and result subjects, one job per finished call. */
export const CALLBACK_STREAM = 'FAAS_CALLBACKS';
export const CALLBACK_SUBJECT_PREFIX = 'faas.callback.';
export const CALLBACK_CONSUMER = 'callbacks';
export const callbackSubject = (functionName: string) => `${CALLBACK_SUBJECT_PREFIX}${functionName}`;

export const DUPLICATE_WINDOW_MS = 2 * 60_000;
const TRACKER_ACK_WAIT_MS = 30_000;
export const nanos = (ms: number) => ms * 1_000_000;

export interface TopologyOptions {
  readonly concurrency: number;
  readonly ackWaitMs: number;
  /** Dead letters are kept as long as call records. */
  readonly retentionMs: number;
  /** Longest one callback delivery takes; the callback consumer's ack wait leaves room beyond it. */
  readonly callbackTimeoutMs: number;
  /** Copies JetStream keeps of each stream (NATS_STREAM_REPLICAS). */
  readonly streamReplicas: number;
}

/**
 * Creates the streams and durable pull consumers, or brings existing ones
 * in line with this configuration. Safe to run again at any time (every
 * replica does at start, and after a restarted NATS lost them).
 */
export async function ensureTopology(jsm: JetStreamManager, options: TopologyOptions): Promise<void> {
  await ensureStream(jsm, STREAM_NAME, {
    subjects: [STREAM_SUBJECTS],
    // Both consumers see every message. Kept for the retention rather than
    // until both acked: nats-server 2.9's interest retention lost messages it
    // had acknowledged to the publisher when it was restarted (SIGTERM) under
    // load, which limits retention does not (docs/design.md "Async invocations").
    retention: RetentionPolicy.Limits,
    max_age: nanos(options.retentionMs),
    storage: StorageType.File,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: options.streamReplicas,
  });
  await ensureStream(jsm, DEAD_LETTER_STREAM, {
    subjects: [`${DEAD_LETTER_SUBJECT_PREFIX}>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(options.retentionMs),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: options.streamReplicas,
  });
  await ensureStream(jsm, CALLBACK_STREAM, {
    subjects: [`${CALLBACK_SUBJECT_PREFIX}>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: nanos(options.retentionMs),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: options.streamReplicas,
  });
  await ensureConsumer(jsm, STREAM_NAME, TRACKER_CONSUMER, STREAM_SUBJECTS, {
    ack_wait: nanos(TRACKER_ACK_WAIT_MS),
    max_ack_pending: 10_000,
  });
  await ensureConsumer(jsm, STREAM_NAME, WORKER_CONSUMER, STREAM_SUBJECTS, {
    ack_wait: nanos(options.ackWaitMs),
    // Leave room for messages waiting out a nak delay beside those running.
    max_ack_pending: Math.max(options.concurrency * 64, 1_024),
  });
  await ensureConsumer(jsm, CALLBACK_STREAM, CALLBACK_CONSUMER, `${CALLBACK_SUBJECT_PREFIX}>`, {
    ack_wait: nanos(options.callbackTimeoutMs + 30_000),
    max_ack_pending: 10_000,
  });
}

export async function ensureStream(jsm: JetStreamManager, name: string, config: Partial<StreamConfig> & { subjects: string[] }): Promise<void> {
  let existing;
  try {
    existing = await jsm.streams.info(name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add({ name, ...config });
    return;
  }
  if (config.retention !== undefined && existing.config.retention !== config.retention) {
    // A stream's retention cannot be changed in place; an empty one is made again.
    if (existing.state.messages > 0) {
      throw new Error(`stream ${name} has retention "${existing.config.retention}" and ${existing.state.messages} messages; this version needs "${config.retention}": let it drain, then delete it (nats stream rm ${name}) and start again`);
    }
    await jsm.streams.delete(name);
    await jsm.streams.add({ name, ...config });
    return;
  }
  await jsm.streams.update(name, config);
}

export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  filterSubject: string,
  tunables: Pick<ConsumerConfig, 'ack_wait' | 'max_ack_pending'>,
  deliverPolicy: DeliverPolicy = DeliverPolicy.All,
): Promise<void> {
  // Attempts are counted and capped by the worker itself (it records the
  // failure before giving up), so the server never silently stops delivering.
  const updatable = { ...tunables, max_deliver: -1 };
  if (await exists(() => jsm.consumers.info(stream, durable), JetStreamApiCodes.ConsumerNotFound)) {
    await jsm.consumers.update(stream, durable, updatable);
    return;
  }
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: deliverPolicy,
    filter_subject: filterSubject,
    ...updatable,
  });
}

export async function exists(lookup: () => Promise<unknown>, notFoundCode: number): Promise<boolean> {
  try {
    await lookup();
    return true;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === notFoundCode) return false;
    throw error;
  }
}
