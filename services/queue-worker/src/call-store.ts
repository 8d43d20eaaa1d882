import type { Redis } from 'ioredis';
import { CallRecordSchema, fromJson, toJson, type CallRecord } from '@faas/protocol';
import { withRedis } from '@faas/redis';

/**
 * Call records in Redis (`<prefix>calls:<callId>`, protobuf JSON), the
 * keyspace this service owns. Every write renews the expiry.
 */
export class CallStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  key(callId: string): string {
    return `${this.keyPrefix}calls:${callId}`;
  }

  /** Writes only when no record exists yet, so a late `queued` never hides progress. */
  async createIfAbsent(record: CallRecord): Promise<boolean> {
    const reply = await withRedis(() => this.redis.set(this.key(record.callId), encode(record), 'EX', this.ttlSeconds, 'NX'));
    return reply === 'OK';
  }

  async put(record: CallRecord): Promise<void> {
    await withRedis(() => this.redis.set(this.key(record.callId), encode(record), 'EX', this.ttlSeconds));
  }

  async get(callId: string): Promise<CallRecord | undefined> {
    const raw = await withRedis(() => this.redis.get(this.key(callId)));
    if (raw === null) return undefined;
    return fromJson(CallRecordSchema, JSON.parse(raw), { ignoreUnknownFields: true });
  }
}

function encode(record: CallRecord): string {
  return JSON.stringify(toJson(CallRecordSchema, record));
}
