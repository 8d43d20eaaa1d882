import type { NatsConnection } from '@nats-io/transport-node';
import { PlatformError } from '@faas/errors';
import { StreamPublisher, connectNats, type NatsLink } from '@faas/nats';
import { ENVELOPE_ASYNC_INVOCATION, ENVELOPE_HEADER, encodeAsyncInvocation, invocationSubject, type Invocation } from '@faas/protocol';
import { writeTraceHeaders, type Logger, type TraceHeaders } from '@faas/telemetry';

const PUBLISH_TIMEOUT_MS = 5_000;

/** Where asynchronous invocations go. */
export interface InvocationPublisher {
  readonly connected: boolean;
  /** `trace`: the request's span context, carried in the message headers to the worker. */
  publish(invocation: Invocation, options: { callbackUrl: string; trace?: TraceHeaders }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes AsyncInvocation envelopes to JetStream. NATS is not needed to
 * boot: the connection is made (and remade) in the background, and
 * publishing while it is down answers service_unavailable.
 */
export class NatsInvocationPublisher implements InvocationPublisher {
  private link: NatsLink | undefined;
  private readonly stream = new StreamPublisher(() => this.natsConnection, PUBLISH_TIMEOUT_MS);

  constructor(
    private readonly servers: readonly string[],
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  /** The shared connection, for readers of other streams (function logs). */
  get natsConnection(): NatsConnection | undefined {
    return this.link?.connection;
  }

  start(): void {
    this.link = connectNats({ servers: this.servers, name: 'httptrigger', logger: this.logger });
  }

  async publish(invocation: Invocation, options: { callbackUrl: string; trace?: TraceHeaders }): Promise<void> {
    if (!this.natsConnection) throw new PlatformError('service_unavailable', 'asynchronous invocations are unavailable: NATS is not connected');
    const headers: Record<string, string> = { [ENVELOPE_HEADER]: ENVELOPE_ASYNC_INVOCATION };
    writeTraceHeaders(options.trace, (key, value) => (headers[key] = value));
    const body = encodeAsyncInvocation({
      $typeName: 'faas.v1.AsyncInvocation',
      invocation,
      queuedAtMs: BigInt(Date.now()),
      callbackUrl: options.callbackUrl,
      replay: 0,
      resultSubject: '',
      source: 'http',
    });
    try {
      await this.stream.publish(invocationSubject(invocation.functionName), body, { msgId: invocation.callId, headers });
    } catch (error) {
      // No responders means no stream (queue-worker never started); the rest are outages.
      throw new PlatformError('service_unavailable', `asynchronous invocations are unavailable: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.stream.close();
    await this.link?.close();
  }
}
