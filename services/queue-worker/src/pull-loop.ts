import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { settlesWithin, type Logger } from '@faas/telemetry';
import type { QueueMessage } from './call-processing.js';

const FETCH_EXPIRES_MS = 5_000;
const ERROR_PAUSE_MS = 1_000;

export interface PullLoopOptions {
  readonly name: string;
  /** Most messages being handled at once; the loop only pulls for free slots. */
  readonly concurrency: number;
  readonly getConsumer: () => Promise<Consumer>;
  readonly handle: (message: QueueMessage) => Promise<void>;
  /** Called after a pull failed (e.g. the consumer vanished), before pulling again. */
  readonly recover?: () => Promise<void>;
  readonly logger: Logger;
}

/**
 * Pulls from a durable consumer with at most `concurrency` messages in
 * hand, so nothing waits in a local buffer while its ack timer runs.
 */
export class PullLoop {
  private stopped = false;
  private inFlight = 0;
  private batch: ConsumerMessages | undefined;
  private slotFreed: (() => void) | undefined;
  private idle: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: PullLoopOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  get busy(): number {
    return this.inFlight;
  }

  /** Stops pulling, then waits up to `graceMs` for the messages in hand. */
  async stop(graceMs: number): Promise<boolean> {
    this.stopped = true;
    this.slotFreed?.();
    await this.batch?.close().catch(() => undefined);
    await this.running;
    if (this.inFlight === 0) return true;
    const drained = new Promise<void>((resolve) => (this.idle = resolve));
    return settlesWithin(drained, graceMs);
  }

  private async loop(): Promise<void> {
    const { logger, name } = this.options;
    let consumer: Consumer | undefined;
    while (!this.stopped) {
      if (this.inFlight >= this.options.concurrency) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        consumer ??= await this.options.getConsumer();
        this.batch = await consumer.fetch({ max_messages: this.options.concurrency - this.inFlight, expires: FETCH_EXPIRES_MS });
        for await (const message of this.batch) this.dispatch(message);
      } catch (error) {
        if (this.stopped) break;
        logger.warn({ err: error, consumer: name }, 'pulling messages failed; retrying');
        consumer = undefined;
        await pause(ERROR_PAUSE_MS);
        await this.options.recover?.().catch((recoverError) => logger.warn({ err: recoverError, consumer: name }, 'recovery failed'));
      } finally {
        this.batch = undefined;
      }
    }
  }

  private dispatch(message: JsMsg): void {
    this.inFlight++;
    this.options
      .handle(toQueueMessage(message))
      .catch((error) => this.options.logger.error({ err: error, consumer: this.options.name }, 'message handler failed'))
      .finally(() => {
        this.inFlight--;
        const freed = this.slotFreed;
        this.slotFreed = undefined;
        freed?.();
        if (this.inFlight === 0) this.idle?.();
      });
  }
}

export function toQueueMessage(message: JsMsg): QueueMessage {
  return {
    subject: message.subject,
    data: message.data,
    header: (name) => message.headers?.get(name) || undefined,
    streamSequence: message.info.streamSequence,
    storedAtMs: Math.floor(message.info.timestampNanos / 1_000_000),
    deliveryCount: message.info.deliveryCount,
    ack: () => message.ack(),
    nak: (delayMs) => message.nak(delayMs),
    // nats-server 2.9 ignores a reason on term (it redelivers instead), so none is given.
    term: () => message.term(),
    working: () => message.working(),
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
