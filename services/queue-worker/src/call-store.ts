import type { Redis } from 'ioredis';
import { CallRecordSchema, fromJson, toJson, type CallRecord, type CallStatus } from '@faas/protocol';
import { withRedis } from '@faas/redis';

/** Records read per round while listing, and the most a listing looks through. */
const LIST_BATCH = 200;
const LIST_SCAN_MAX = 10_000;
export const LIST_LIMIT = { default: 100, max: 1_000 } as const;

export interface ListQuery {
  readonly functionName?: string;
  /** UNSPECIFIED: any. */
  readonly status?: CallStatus;
  readonly limit?: number;
}

/**
 * Call records in Redis, the keyspace this service owns (docs/design.md
 * "Redis keyspaces"):
 * - `<prefix>calls:<callId>`: the record, protobuf JSON, expiring after the retention;
 * - `<prefix>calls-index:all` and `<prefix>calls-index:fn:<function>`:
 *   sorted sets of call ids by queued time, trimmed to the retention, for listings.
 */
/** Indexes are trimmed to the retention at most this often (per index), not on every write. */
const TRIM_INTERVAL_MS = 5_000;

export class CallStore {
  private readonly retentionSeconds: number;
  private readonly trimmedAtMs = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.retentionSeconds = Math.max(1, Math.ceil(retentionMs / 1_000));
  }

  key(callId: string): string {
    return `${this.keyPrefix}calls:${callId}`;
  }

  private indexKey(functionName?: string): string {
    return functionName ? `${this.keyPrefix}calls-index:fn:${functionName}` : `${this.keyPrefix}calls-index:all`;
  }

  /**
   * Writes only when no record exists yet, so a late `queued` never hides
   * progress; indexes the call either way (the worker may have written first).
   */
  async createIfAbsent(record: CallRecord): Promise<boolean> {
    const replies = await withRedis(() => this.indexed(this.redis.pipeline().set(this.key(record.callId), encode(record), 'EX', this.retentionSeconds, 'NX'), record).exec());
    const [error, reply] = replies?.[0] ?? [null, null];
    if (error) throw error;
    return reply === 'OK';
  }

  /** The tracker indexes every call it sees (even when the worker wrote first), so a write needs no index. */
  async put(record: CallRecord): Promise<void> {
    await withRedis(() => this.redis.set(this.key(record.callId), encode(record), 'EX', this.retentionSeconds));
  }

  async get(callId: string): Promise<CallRecord | undefined> {
    const raw = await withRedis(() => this.redis.get(this.key(callId)));
    return raw === null ? undefined : decode(raw);
  }

  /** Recent calls, newest first. */
  async list(query: ListQuery): Promise<CallRecord[]> {
    const limit = Math.min(query.limit || LIST_LIMIT.default, LIST_LIMIT.max);
    const index = this.indexKey(query.functionName);
    const found: CallRecord[] = [];
    for (let start = 0; start < LIST_SCAN_MAX && found.length < limit; start += LIST_BATCH) {
      const ids = await withRedis(() => this.redis.zrevrange(index, start, start + LIST_BATCH - 1));
      if (ids.length === 0) break;
      const raws = await withRedis(() => this.redis.mget(ids.map((id) => this.key(id))));
      for (const raw of raws) {
        // An id whose record is gone expired; the index is trimmed lazily.
        if (raw === null) continue;
        const record = decode(raw);
        if (query.status && record.status !== query.status) continue;
        found.push(record);
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  private indexed<P extends ReturnType<Redis['pipeline']>>(pipeline: P, record: CallRecord): P {
    const now = this.now();
    const queuedAtMs = Number(record.queuedAtMs) || now;
    for (const key of [this.indexKey(), this.indexKey(record.functionName)]) {
      pipeline.zadd(key, queuedAtMs, record.callId);
      if (now - (this.trimmedAtMs.get(key) ?? 0) < TRIM_INTERVAL_MS) continue;
      this.trimmedAtMs.set(key, now);
      // A function's index outlives its last call by the retention, then goes.
      pipeline.zremrangebyscore(key, '-inf', now - this.retentionMs).pexpire(key, this.retentionMs);
    }
    if (this.trimmedAtMs.size > 10_000) this.trimmedAtMs.clear();
    return pipeline;
  }
}

function encode(record: CallRecord): string {
  return JSON.stringify(toJson(CallRecordSchema, record));
}

function decode(raw: string): CallRecord {
  return fromJson(CallRecordSchema, JSON.parse(raw), { ignoreUnknownFields: true });
}
