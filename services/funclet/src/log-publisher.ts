/**
 * Publishes function log lines to NATS JetStream: stream FAAS_LOGS (created
 * and owned by the funclet), subject `faas.logs.<function>`. Logs must never
 * slow or break invocations: the connection is made in the background, lines
 * are sent with a plain (un-acknowledged) publish that JetStream stores, and
 * while NATS is away they are dropped and counted rather than queued.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, type NatsLink } from '@faas/nats';
import { LOG_STREAM, LOG_SUBJECT_PREFIX, logSubject } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import type { LogPublisher, LogRecord } from './log-sink.js';

const LOG_SUBJECTS = `${LOG_SUBJECT_PREFIX}>`;
const MAX_LINES_PER_FUNCTION = 10_000;
const MAX_AGE_MS = 24 * 60 * 60 * 1000;
const DROP_WARNING_INTERVAL_MS = 30_000;

export class NatsLogPublisher implements LogPublisher {
  private link: NatsLink | undefined;
  private lastDropWarning = 0;
  private droppedSinceWarning = 0;
  /** Lines lost because NATS was unreachable or too slow. */
  dropped = 0;
  published = 0;

  constructor(
    private readonly servers: readonly string[],
    private readonly logger: Logger,
    /** Copies JetStream keeps of the log stream (NATS_STREAM_REPLICAS). */
    private readonly streamReplicas = 1,
  ) {}

  start(): void {
    // A restarted NATS may have lost the stream: it is ensured on every reconnect.
    this.link = connectNats({ servers: this.servers, name: 'funclet-logs', logger: this.logger, onConnect: (connection) => this.ensureStream(connection) });
  }

  publish(functionName: string, record: LogRecord): void {
    const connection = this.link?.connection;
    if (!connection || connection.isClosed()) return this.drop();
    try {
      connection.publish(logSubject(functionName), JSON.stringify(record));
      this.published += 1;
    } catch {
      this.drop();
    }
  }

  async close(): Promise<void> {
    if (this.droppedSinceWarning > 0) this.logger.warn({ dropped: this.dropped }, 'function log lines dropped (NATS unavailable)');
    await this.link?.close();
  }

  private async ensureStream(connection: NatsConnection): Promise<void> {
    const config = {
      subjects: [LOG_SUBJECTS],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: MAX_LINES_PER_FUNCTION,
      max_age: MAX_AGE_MS * 1_000_000,
      discard: DiscardPolicy.Old,
      num_replicas: this.streamReplicas,
    };
    try {
      const jsm = await jetstreamManager(connection);
      try {
        await jsm.streams.info(LOG_STREAM);
        await jsm.streams.update(LOG_STREAM, config);
      } catch (error) {
        if (!(error instanceof JetStreamApiError)) throw error;
        await jsm.streams.add({ name: LOG_STREAM, ...config });
      }
    } catch (error) {
      // Without the stream, lines are published but not kept; invocations go on.
      this.logger.warn({ err: error, stream: LOG_STREAM }, 'cannot create the log stream');
    }
  }

  private drop(): void {
    this.dropped += 1;
    this.droppedSinceWarning += 1;
    const now = Date.now();
    if (now - this.lastDropWarning >= DROP_WARNING_INTERVAL_MS) {
      this.logger.warn({ dropped: this.dropped, sinceLastWarning: this.droppedSinceWarning }, 'function log lines dropped (NATS unavailable)');
      this.lastDropWarning = now;
      this.droppedSinceWarning = 0;
    }
  }
}
