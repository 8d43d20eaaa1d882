import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { PlatformError } from '@faas/errors';
import { DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT_PREFIX, DeadLetterSchema, deadLetterSubject, fromBinary, toBinary, type DeadLetter } from '@faas/protocol';

const PUBLISH_TIMEOUT_MS = 5_000;
/** Most dead letters one listing reads from the stream before keeping the newest. */
const LIST_READ_MAX = 10_000;

/** Where calls whose attempts were used up are kept until replayed or expired. */
export interface DeadLetterStore {
  add(deadLetter: DeadLetter): Promise<void>;
  find(functionName: string, callId: string): Promise<{ readonly deadLetter: DeadLetter; readonly sequence: number } | undefined>;
  remove(sequence: number): Promise<void>;
  list(functionName: string | undefined, limit: number): Promise<DeadLetter[]>;
}

/**
 * The dead letters in the stream FAAS_DEAD_LETTERS, one message per call on
 * `faas.dead.<function>.<callId>`, kept for the call retention.
 */
export class JetStreamDeadLetters implements DeadLetterStore {
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;

  constructor(private readonly connection: () => NatsConnection | undefined) {}

  async add(deadLetter: DeadLetter): Promise<void> {
    const invocation = deadLetter.request?.invocation;
    if (!invocation) throw new Error('a dead letter needs its request');
    const { js } = await this.clients();
    // The message id makes a second add after a lost ack (the worker died) a no-op.
    await js.publish(deadLetterSubject(invocation.functionName, invocation.callId), toBinary(DeadLetterSchema, deadLetter), {
      msgID: `${invocation.callId}:dead:${deadLetter.request?.replay ?? 0}`,
      timeout: PUBLISH_TIMEOUT_MS,
    });
  }

  async find(functionName: string, callId: string) {
    const { jsm } = await this.clients();
    try {
      const message = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: deadLetterSubject(functionName, callId) });
      if (!message) return undefined;
      return { deadLetter: fromBinary(DeadLetterSchema, message.data), sequence: message.seq };
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return undefined;
      throw error;
    }
  }

  async remove(sequence: number): Promise<void> {
    const { jsm } = await this.clients();
    await jsm.streams.deleteMessage(DEAD_LETTER_STREAM, sequence, false);
  }

  /** The newest `limit` dead letters, newest first. */
  async list(functionName: string | undefined, limit: number): Promise<DeadLetter[]> {
    const { js, jsm } = await this.clients();
    const subject = functionName ? `${DEAD_LETTER_SUBJECT_PREFIX}${functionName}.>` : `${DEAD_LETTER_SUBJECT_PREFIX}>`;
    const info = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: subject });
    const stored = Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
    if (stored === 0) return [];
    const consumer = await js.consumers.get(DEAD_LETTER_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
    const newest: DeadLetter[] = [];
    const messages = await consumer.fetch({ max_messages: Math.min(stored, LIST_READ_MAX), expires: 5_000 });
    for await (const message of messages) {
      try {
        newest.push(fromBinary(DeadLetterSchema, message.data));
      } catch {
        // Not ours to judge here: an undecodable entry is skipped from the listing.
      }
      if (newest.length > limit) newest.shift();
      if (message.info.pending === 0) break;
    }
    await messages.close().catch(() => undefined);
    return newest.reverse();
  }

  private async clients(): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
    const connection = this.connection();
    if (!connection) throw new PlatformError('service_unavailable', 'dead letters are unavailable: NATS is not connected');
    this.js ??= jetstream(connection);
    this.jsm ??= await jetstreamManager(connection);
    return { js: this.js, jsm: this.jsm };
  }
}
