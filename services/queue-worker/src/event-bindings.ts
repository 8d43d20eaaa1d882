import { createHash } from 'node:crypto';
import { DeliverPolicy, RetentionPolicy, StorageType, jetstream, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SOURCE_HEADER, subjectCovers, type TriggerConfig } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import type { QueueMessage } from './call-processing.js';
import { PullLoop } from './pull-loop.js';
import { DUPLICATE_WINDOW_MS, ensureConsumer, ensureStream, nanos } from './topology.js';

/** Captures what is published on every NATS trigger's subject, so no event is lost while no worker runs. */
export const EVENT_STREAM = 'FAAS_EVENTS';
/** A stream needs a subject; this one is ours and nobody publishes on it. */
const IDLE_SUBJECT = 'faas.events.idle';
const CONSUMER_PREFIX = 'trigger-';
/** Header telling the function which subject its event came in on. */
export const EVENT_SUBJECT_HEADER = 'Faas-Event-Subject';
const PASSED_HEADERS = ['Content-Type', 'traceparent', 'tracestate'];

export interface EventBindingsOptions {
  readonly connection: () => NatsConnection | undefined;
  readonly jsm: JetStreamManager;
  /** Queues one event as a call of the trigger's function (raw event, the given message id). */
  readonly publish: (functionName: string, data: Uint8Array, msgId: string, headers: Record<string, string>) => Promise<void>;
  readonly logger: Logger;
  readonly concurrency: number;
  /** Copies JetStream keeps of FAAS_EVENTS (NATS_STREAM_REPLICAS); 1 when unset. */
  readonly streamReplicas?: number;
}

/** The durable consumer of one trigger: named after its subject too, so a new subject starts a new consumer. */
export function consumerName(trigger: TriggerConfig): string {
  return `${CONSUMER_PREFIX}${trigger.name}-${createHash('sha256').update(trigger.subject).digest('hex').slice(0, 10)}`;
}

/** The fewest subjects that together match everything the triggers match (a stream refuses overlaps). */
export function coveringSubjects(subjects: readonly string[]): string[] {
  const unique = [...new Set(subjects)].sort();
  return unique.filter((subject) => !unique.some((other) => other !== subject && subjectCovers(other, subject)));
}

/**
 * NATS event triggers: the stream FAAS_EVENTS holds every subject a trigger
 * binds; each trigger has a durable consumer (filter = its subject) that
 * every replica pulls from, turning each event into a call published on
 * `faas.invoke.<function>` with a message id made from the event's stream
 * sequence, so an event redelivered after a crash is still one call.
 */
export class EventBindings {
  private readonly loops = new Map<string, PullLoop>();
  private streamEpoch = '';

  constructor(private readonly options: EventBindingsOptions) {}

  async update(triggers: readonly TriggerConfig[]): Promise<void> {
    const { jsm, logger } = this.options;
    const bound = triggers.filter((trigger) => trigger.type === 'nats');
    const subjects = coveringSubjects(bound.map((trigger) => trigger.subject));
    await ensureStream(jsm, EVENT_STREAM, {
      subjects: subjects.length > 0 ? subjects : [IDLE_SUBJECT],
      retention: RetentionPolicy.Interest,
      storage: StorageType.File,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      num_replicas: this.options.streamReplicas ?? 1,
    });
    const info = await jsm.streams.info(EVENT_STREAM);
    // Sequences start over if the stream is ever made anew; the epoch keeps call ids from repeating.
    this.streamEpoch = Date.parse(info.created).toString(36);

    const wanted = new Map(bound.map((trigger) => [consumerName(trigger), trigger]));
    for await (const consumer of jsm.consumers.list(EVENT_STREAM)) {
      const name = consumer.name;
      if (name.startsWith(CONSUMER_PREFIX) && !wanted.has(name)) {
        await jsm.consumers.delete(EVENT_STREAM, name).catch((error) => logger.warn({ err: error, consumer: name }, 'cannot delete a trigger consumer'));
      }
    }
    for (const [name, trigger] of wanted) {
      // Events from the moment the trigger is bound; a replica that starts later shares the same durable.
      await ensureConsumer(jsm, EVENT_STREAM, name, trigger.subject, { ack_wait: nanos(30_000), max_ack_pending: 1_000 }, DeliverPolicy.New);
    }
    for (const [name, loop] of this.loops) {
      if (!wanted.has(name)) {
        this.loops.delete(name);
        await loop.stop(5_000);
      }
    }
    for (const [name, trigger] of wanted) {
      if (this.loops.has(name)) continue;
      const loop = new PullLoop({
        name,
        concurrency: this.options.concurrency,
        getConsumer: () => jetstream(this.requireConnection()).consumers.get(EVENT_STREAM, name),
        handle: (message) => this.forward(trigger, message),
        logger,
      });
      this.loops.set(name, loop);
      loop.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.loops.values()].map((loop) => loop.stop(5_000)));
    this.loops.clear();
  }

  private async forward(trigger: TriggerConfig, message: QueueMessage): Promise<void> {
    const headers: Record<string, string> = { [SOURCE_HEADER]: `trigger:${trigger.name}`, [EVENT_SUBJECT_HEADER]: message.subject };
    for (const name of PASSED_HEADERS) {
      const value = message.header(name);
      if (value) headers[name] = value;
    }
    try {
      await this.options.publish(trigger.functionName, message.data, `evt-${trigger.name}-${this.streamEpoch}-${message.streamSequence}`, headers);
      message.ack();
    } catch (error) {
      this.options.logger.warn({ err: error, trigger: trigger.name }, 'cannot queue a trigger event; will try again');
      message.nak(1_000);
    }
  }

  private requireConnection(): NatsConnection {
    const connection = this.options.connection();
    if (!connection) throw new Error('NATS is not connected');
    return connection;
  }
}
