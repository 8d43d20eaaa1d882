/**
 * Reads function logs back from the FAAS_LOGS JetStream stream that funclets
 * publish to (one subject per function: faas.logs.<function>). Each read uses
 * its own ordered consumer (ephemeral, server-side state only while it runs),
 * so readers never interfere with each other or with retention.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { PlatformError } from '@faas/errors';
import { CALL_ID, LOG_STREAM, logSubject, type LogLine } from '@faas/protocol';

export const DEFAULT_TAIL_LINES = 100;
export const MAX_TAIL_LINES = 10_000;


export interface LogReadOptions {
  /** How many of the newest stored lines come first. */
  readonly tail: number;
  /** Keep going with new lines until `signal` aborts. */
  readonly follow: boolean;
  readonly signal: AbortSignal;
  /** Only the lines of this call (the tail counts its lines only). */
  readonly callId?: string;
}

export interface LogReader {
  /** Resolves once the lines can be read (NATS reached), so failures can still be answered properly. */
  open(functionName: string, options: LogReadOptions): Promise<AsyncIterable<LogLine>>;
}

export class NatsLogReader implements LogReader {
  constructor(private readonly connection: () => NatsConnection | undefined) {}

  async open(functionName: string, { tail, follow, signal, callId }: LogReadOptions): Promise<AsyncIterable<LogLine>> {
    const connection = this.connection();
    if (!connection || connection.isClosed()) throw new PlatformError('service_unavailable', 'function logs are unavailable: NATS is not connected');
    const subject = logSubject(functionName);
    let stored: number;
    try {
      const info = await (await jetstreamManager(connection)).streams.info(LOG_STREAM, { subjects_filter: subject });
      stored = info.state.subjects?.[subject] ?? 0;
    } catch (error) {
      if (!(error instanceof JetStreamApiError)) throw new PlatformError('service_unavailable', `function logs are unavailable: ${(error as Error).message}`, { cause: error });
      // No funclet has created the stream yet: no logs so far.
      if (!follow) return noLines();
      throw new PlatformError('service_unavailable', 'function logs are unavailable: no funclet has created the log stream yet');
    }
    if (signal.aborted || (stored === 0 && !follow)) return noLines();

    const consumer = await jetstream(connection).consumers.get(LOG_STREAM, {
      filter_subjects: subject,
      deliver_policy: stored > 0 ? DeliverPolicy.All : DeliverPolicy.New,
    });
    const messages = await consumer.consume();
    const stop = () => void messages.stop();
    signal.addEventListener('abort', stop, { once: true });
    return (async function* () {
    try {
      // Replay: keep the newest `tail` lines of what was stored, then go live.
      const newest: LogLine[] = [];
      let replaying = stored > 0;
      for await (const message of messages) {
        const parsed = parseLine(message.data);
        const line = parsed && (!callId || parsed.callId === callId) ? parsed : undefined;
        if (replaying) {
          if (line) {
            newest.push(line);
            if (newest.length > tail) newest.shift();
          }
          if (message.info.pending > 0) continue;
          replaying = false;
          yield* newest.splice(0);
          if (!follow) return;
          continue;
        }
        if (line) yield line;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
    })();
  }
}

async function* noLines(): AsyncIterable<LogLine> {}

function parseLine(data: Uint8Array): LogLine | undefined {
  try {
    const value = JSON.parse(Buffer.from(data).toString('utf8')) as LogLine;
    return typeof value === 'object' && value !== null && typeof value.line === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `?tail=N`: a positive integer up to MAX_TAIL_LINES (default DEFAULT_TAIL_LINES). */
export function parseTail(raw: unknown): number {
  if (raw === undefined || raw === '') return DEFAULT_TAIL_LINES;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < 0 || value > MAX_TAIL_LINES) {
    throw new PlatformError('bad_request', `tail must be an integer from 0 to ${MAX_TAIL_LINES}`);
  }
  return value;
}

export function parseFollow(raw: unknown): boolean {
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new PlatformError('bad_request', 'follow must be true or false');
}

/** `?callId=`: the lines of one call only; a call id as X-Call-Id takes it. */
export function parseCallIdFilter(raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !CALL_ID.test(raw)) throw new PlatformError('bad_request', 'callId must match ^[A-Za-z0-9_.:-]{1,128}$');
  return raw;
}
