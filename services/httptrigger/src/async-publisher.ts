import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { PlatformError } from '@faas/errors';
import { AsyncInvocationSchema, ENVELOPE_ASYNC_INVOCATION, ENVELOPE_HEADER, create, invocationSubject, toBinary, type Invocation } from '@faas/protocol';
import { injectTraceContext, type Logger } from '@faas/telemetry';

const PUBLISH_TIMEOUT_MS = 5_000;

/** Where asynchronous invocations go. */
export interface InvocationPublisher {
  readonly connected: boolean;
  publish(invocation: Invocation, options: { callbackUrl: string }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes AsyncInvocation envelopes to JetStream. NATS is not needed to
 * boot: the connection is made (and remade) in the background, and
 * publishing while it is down answers service_unavailable.
 */
export class NatsInvocationPublisher implements InvocationPublisher {
  private connection: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private isConnected = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }

  /** The shared connection, for readers of other streams (function logs). */
  get natsConnection(): NatsConnection | undefined {
    return this.isConnected ? this.connection : undefined;
  }

  start(): void {
    connect({ servers: this.url, name: 'httptrigger', waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1_000 })
      .then(async (connection) => {
        if (this.closed) return void (await connection.close());
        this.connection = connection;
        this.js = jetstream(connection);
        this.isConnected = true;
        this.logger.info({ url: this.url }, 'nats connected');
        for await (const status of connection.status()) {
          if (status.type === 'disconnect') {
            this.isConnected = false;
            this.logger.warn('nats disconnected');
          } else if (status.type === 'reconnect') {
            this.isConnected = true;
            this.logger.info('nats reconnected');
          }
        }
      })
      .catch((error) => this.logger.error({ err: error }, 'nats connection failed for good'));
  }

  async publish(invocation: Invocation, options: { callbackUrl: string }): Promise<void> {
    if (!this.isConnected || !this.js) throw new PlatformError('service_unavailable', 'asynchronous invocations are unavailable: NATS is not connected');
    const headers = natsHeaders();
    headers.set(ENVELOPE_HEADER, ENVELOPE_ASYNC_INVOCATION);
    injectTraceContext(headers);
    const body = toBinary(
      AsyncInvocationSchema,
      create(AsyncInvocationSchema, { invocation, queuedAtMs: BigInt(Date.now()), callbackUrl: options.callbackUrl }),
    );
    try {
      await this.js.publish(invocationSubject(invocation.functionName), body, { msgID: invocation.callId, headers, timeout: PUBLISH_TIMEOUT_MS });
    } catch (error) {
      // No responders means no stream (queue-worker never started); the rest are outages.
      throw new PlatformError('service_unavailable', `asynchronous invocations are unavailable: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection?.drain().catch(() => undefined);
  }
}
