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
/**
 * The tracker's write, one command per call: the record unless one exists,
 * and its place in both indexes. KEYS: record, all-calls index, function
 * index; ARGV: record JSON, lifetime (s), queued time (score), call id.
 */
const CREATE_AND_INDEX = `
local created = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
if created then return 1 end
return 0
`;

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
    redis.defineCommand('faasCreateCall', { numberOfKeys: 3, lua: CREATE_AND_INDEX });
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
    const queuedAtMs = Number(record.queuedAtMs) || this.now();
    const create = this.redis as Redis & { faasCreateCall(...args: (string | number)[]): Promise<number> };
    const created = await withRedis(() =>
      create.faasCreateCall(this.key(record.callId), this.indexKey(), this.indexKey(record.functionName), encode(record), this.retentionSeconds, queuedAtMs, record.callId),
    );
    await this.trimIndexes(record.functionName);
    return created === 1;
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

  /** Drops index entries older than the retention, at most every few seconds per index; a failure waits for the next time. */
  private async trimIndexes(functionName: string): Promise<void> {
    const now = this.now();
    const due = [this.indexKey(), this.indexKey(functionName)].filter((key) => now - (this.trimmedAtMs.get(key) ?? 0) >= TRIM_INTERVAL_MS);
    if (due.length === 0) return;
    if (this.trimmedAtMs.size > 10_000) this.trimmedAtMs.clear();
    const pipeline = this.redis.pipeline();
    for (const key of due) {
      this.trimmedAtMs.set(key, now);
      // A function's index outlives its last call by the retention, then goes.
      pipeline.zremrangebyscore(key, '-inf', now - this.retentionMs).pexpire(key, this.retentionMs);
    }
    await withRedis(() => pipeline.exec()).catch(() => undefined);
  }

}

function encode(record: CallRecord): string {
  return JSON.stringify(toJson(CallRecordSchema, record));
}

function decode(raw: string): CallRecord {
  return fromJson(CallRecordSchema, JSON.parse(raw), { ignoreUnknownFields: true });
}
