import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { INVOCATION_SUBJECT_PREFIX } from '@faas/protocol';

/** Names fixed by docs/design.md "Async invocations". */
export const STREAM_NAME = 'FAAS_INVOCATIONS';
const STREAM_SUBJECTS = `${INVOCATION_SUBJECT_PREFIX}>`;
export const TRACKER_CONSUMER = 'tracker';
export const WORKER_CONSUMER = 'worker';

const DUPLICATE_WINDOW_MS = 2 * 60_000;
const TRACKER_ACK_WAIT_MS = 30_000;
const nanos = (ms: number) => ms * 1_000_000;

export interface TopologyOptions {
  readonly concurrency: number;
  readonly ackWaitMs: number;
}

/**
 * Creates the stream and both durable pull consumers, or brings existing
 * ones in line with this configuration. Safe to run again at any time.
 */
export async function ensureTopology(jsm: JetStreamManager, options: TopologyOptions): Promise<void> {
  const streamConfig = {
    subjects: [STREAM_SUBJECTS],
    retention: RetentionPolicy.Interest,
    storage: StorageType.File,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  if (await exists(() => jsm.streams.info(STREAM_NAME), JetStreamApiCodes.StreamNotFound)) {
    await jsm.streams.update(STREAM_NAME, streamConfig);
  } else {
    await jsm.streams.add({ name: STREAM_NAME, ...streamConfig });
  }

  await ensureConsumer(jsm, TRACKER_CONSUMER, {
    ack_wait: nanos(TRACKER_ACK_WAIT_MS),
    max_ack_pending: 1_000,
  });
  await ensureConsumer(jsm, WORKER_CONSUMER, {
    ack_wait: nanos(options.ackWaitMs),
    // Leave room for messages waiting out a nak delay beside those running.
    max_ack_pending: Math.max(options.concurrency * 4, 64),
  });
}

async function ensureConsumer(jsm: JetStreamManager, durable: string, tunables: { ack_wait: number; max_ack_pending: number }) {
  // Attempts are counted and capped by the worker itself (it records the
  // failure before giving up), so the server never silently stops delivering.
  const updatable = { ...tunables, max_deliver: -1 };
  if (await exists(() => jsm.consumers.info(STREAM_NAME, durable), JetStreamApiCodes.ConsumerNotFound)) {
    await jsm.consumers.update(STREAM_NAME, durable, updatable);
    return;
  }
  await jsm.consumers.add(STREAM_NAME, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: STREAM_SUBJECTS,
    ...updatable,
  });
}

async function exists(lookup: () => Promise<unknown>, notFoundCode: number): Promise<boolean> {
  try {
    await lookup();
    return true;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === notFoundCode) return false;
    throw error;
  }
}
