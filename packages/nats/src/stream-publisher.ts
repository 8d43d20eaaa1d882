import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** What JetStream answers when it stored a message. */
export interface PubAck {
  readonly stream: string;
  readonly seq: number;
  /** The message id was seen within the stream's duplicate window: nothing new was stored. */
  readonly duplicate: boolean;
}

/** JetStream refused the message or did not answer; `noStream` when no stream captures the subject. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    message: string,
    readonly noStream = false,
  ) {
    super(message);
  }
}

export interface PublishOptions {
  /** `Nats-Msg-Id`: JetStream stores a repeated id once within its duplicate window. */
  readonly msgId?: string;
  readonly headers?: Record<string, string>;
}

interface Pending {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (error: Error) => void;
  readonly deadlineMs: number;
}

const SWEEP_MS = 100;

/**
 * Publishes to JetStream and awaits each PubAck, many in flight on one
 * connection: every publish is a core message whose reply subject lies
 * under one inbox subscription, its PubAck matched by a token, deadlines
 * checked by one sweep. @nats-io/jetstream's publish does the same job but
 * makes two Error objects (for their stack traces) and a timer per call,
 * which at thousands of publishes a second costs more than the publish.
 */
export class StreamPublisher {
  private readonly inbox = createInbox();
  private readonly pending = new Map<string, Pending>();
  private subscription: Subscription | undefined;
  private subscribedOn: NatsConnection | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private nextToken = 0;

  constructor(
    private readonly connection: () => NatsConnection | undefined,
    private readonly timeoutMs = 5_000,
  ) {}

  publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PubAck> {
    const connection = this.connection();
    if (!connection || connection.isClosed()) return Promise.reject(new PublishError('NATS is not connected'));
    this.listen(connection);
    const token = (this.nextToken++).toString(36);
    let headers: MsgHdrs | undefined;
    if (options.msgId || options.headers) {
      headers = natsHeaders();
      if (options.msgId) headers.set('Nats-Msg-Id', options.msgId);
      for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
    }
    return new Promise<PubAck>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, deadlineMs: Date.now() + this.timeoutMs });
      try {
        connection.publish(subject, data, { reply: `${this.inbox}.${token}`, headers });
      } catch (error) {
        this.pending.delete(token);
        reject(new PublishError(`cannot publish: ${(error as Error).message}`));
      }
    });
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
    for (const [token, call] of this.pending) {
      this.pending.delete(token);
      call.reject(new PublishError('the publisher was closed'));
    }
  }

  private listen(connection: NatsConnection): void {
    if (this.subscribedOn === connection && this.subscription && !this.subscription.isClosed()) return;
    this.subscribedOn = connection;
    this.subscription = connection.subscribe(`${this.inbox}.*`, { callback: (error, message) => (error ? undefined : this.answer(message)) });
    this.sweep ??= setInterval(() => this.expire(), SWEEP_MS);
    this.sweep.unref();
  }

  private answer(message: Msg): void {
    const token = message.subject.slice(this.inbox.length + 1);
    const call = this.pending.get(token);
    if (!call) return;
    this.pending.delete(token);
    // No responders: the server says so with a 503 status and no body.
    if (message.headers?.code === 503 || message.data.byteLength === 0) {
      call.reject(new PublishError('no stream captures this subject', true));
      return;
    }
    let reply: { stream?: string; seq?: number; duplicate?: boolean; error?: { description?: string; code?: number } };
    try {
      reply = JSON.parse(new TextDecoder().decode(message.data));
    } catch {
      call.reject(new PublishError('JetStream answered something that is not a PubAck'));
      return;
    }
    if (reply.error) call.reject(new PublishError(`JetStream refused the message: ${reply.error.description ?? reply.error.code}`));
    else call.resolve({ stream: reply.stream ?? '', seq: reply.seq ?? 0, duplicate: reply.duplicate === true });
  }

  private expire(): void {
    const now = Date.now();
    for (const [token, call] of this.pending) {
      if (call.deadlineMs > now) continue;
      this.pending.delete(token);
      call.reject(new PublishError(`no PubAck within ${this.timeoutMs} ms`));
    }
  }
}
