import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { PlatformError } from '@faas/errors';
import { StreamPublisher as JetStreamPublish } from '@faas/nats';
import { CallbackJobSchema, ENVELOPE_ASYNC_INVOCATION, ENVELOPE_HEADER, create, encodeAsyncInvocation, invocationSubject, toBinary, type AsyncInvocation, type CallbackJob } from '@faas/protocol';
import type { CallbackQueue } from './call-processing.js';
import { callbackSubject } from './topology.js';

const PUBLISH_TIMEOUT_MS = 5_000;

/**
 * What this service itself puts into its streams: replayed calls and
 * trigger events (FAAS_INVOCATIONS) and callback jobs (FAAS_CALLBACKS).
 * Every publish names a message id, so one repeated after a lost PubAck is
 * stored once (within the duplicate window).
 */
export class StreamPublisher implements CallbackQueue {
  private readonly stream: JetStreamPublish;

  constructor(private readonly connection: () => NatsConnection | undefined) {
    this.stream = new JetStreamPublish(connection, PUBLISH_TIMEOUT_MS);
  }

  /** An AsyncInvocation envelope on `faas.invoke.<function>`. */
  async publishInvocation(request: AsyncInvocation, msgId: string, extraHeaders: Record<string, string> = {}): Promise<void> {
    const functionName = request.invocation?.functionName ?? '';
    await this.stream.publish(invocationSubject(functionName), encodeAsyncInvocation(request), {
      msgId,
      headers: { [ENVELOPE_HEADER]: ENVELOPE_ASYNC_INVOCATION, ...extraHeaders },
    });
  }

  /** A raw event on `faas.invoke.<function>`, as any NATS client may publish one. */
  async publishEvent(functionName: string, data: Uint8Array, msgId: string, eventHeaders: Record<string, string>): Promise<void> {
    await this.stream.publish(invocationSubject(functionName), data, { msgId, headers: eventHeaders });
  }

  async enqueue(job: Omit<CallbackJob, '$typeName'>, replay: number): Promise<void> {
    await this.stream.publish(callbackSubject(job.functionName), toBinary(CallbackJobSchema, create(CallbackJobSchema, job)), { msgId: `${job.callId}:callback:${replay}` });
  }

  /** Publishes a core NATS message (result subjects): no stream, no acknowledgement. */
  publishCore(subject: string, data: Uint8Array, coreHeaders: Record<string, string>): void {
    const connection = this.connection();
    if (!connection) throw new PlatformError('service_unavailable', 'NATS is not connected');
    const headers = natsHeaders();
    for (const [name, value] of Object.entries(coreHeaders)) headers.set(name, value);
    connection.publish(subject, data, { headers });
  }

  close(): void {
    this.stream.close();
  }
}
