/**
 * Deletes code bundles nothing uses: no function ($LATEST or a published
 * version) and no custom runtime refers to them, and their last use
 * (code-use.ts) is older than the
 * retention (STUBS_CODE_RETENTION). A bundle uploaded and never deployed
 * goes after the retention; one a function moved away from, the retention
 * after the move.
 *
 * Which bundles are referenced and which index entries go is decided in one
 * Lua script, over every function and runtime config, so no deploy can
 * slip in between the check and the deletion (see code-use.ts). The files
 * follow their index entries (BlobStore.remove keeps one an upload wanted
 * again). Files without an index entry (Redis lost it, or another replica
 * collected it) go too once they are older than the retention.
 *
 * Every replica sweeps; the script makes that safe. It reads keys it is not
 * given as KEYS, which a single Redis allows and Redis Cluster would not.
 */
import type { Redis } from 'ioredis';
import { codeDigestHex, codeDigestOf } from '@faas/protocol';
import { withRedis } from '@faas/redis';
import type { Logger } from '@faas/telemetry';
import type { BlobStore } from './blob-store.js';
import { LUA_DIGEST_OF, LUA_NOW } from './code-use.js';
import type { StubsKeys } from './redis-keys.js';

/**
 * ARGV: function names set, function key prefix, function versions key
 * prefix, runtime names set, runtime key prefix, code key prefix, retention
 * (ms), then candidate digests. Deletes the index entries of the
 * unreferenced candidates whose last use is older than the retention;
 * returns their digests.
 */
const COLLECT = `${LUA_NOW}
${LUA_DIGEST_OF}
local referenced = {}
local function reference(json)
  local digest = json and digestOf(json)
  if digest then referenced[digest] = true end
end
for _, name in ipairs(redis.call('SMEMBERS', ARGV[1])) do
  reference(redis.call('GET', ARGV[2] .. name))
  for _, version in ipairs(redis.call('HVALS', ARGV[3] .. name)) do reference(version) end
end
for _, name in ipairs(redis.call('SMEMBERS', ARGV[4])) do reference(redis.call('GET', ARGV[5] .. name)) end
local cutoff = now - tonumber(ARGV[7])
local collected = {}
for i = 8, #ARGV do
  local digest = ARGV[i]
  if not referenced[digest] then
    local key = ARGV[6] .. digest
    local times = redis.call('HMGET', key, 'createdAtMs', 'usedAtMs')
    if times[1] or times[2] then
      if math.max(tonumber(times[1]) or 0, tonumber(times[2]) or 0) < cutoff then
        redis.call('DEL', key)
        collected[#collected + 1] = digest
      end
    end
  end
end
return collected
`;

/** Candidates per script call: the script's time grows with them. */
const BATCH = 500;

export interface CodeCollectorOptions {
  readonly retentionMs: number;
  readonly log: Logger;
  /** Local clock, for the age of files without an index entry. */
  readonly now?: () => number;
}

export class CodeCollector {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly blobs: BlobStore,
    private readonly options: CodeCollectorOptions,
  ) {}

  /** How often a sweep runs: a tenth of the retention, between 100 ms and 10 minutes. */
  get intervalMs(): number {
    return Math.min(10 * 60_000, Math.max(100, Math.round(this.options.retentionMs / 10)));
  }

  start(): void {
    this.timer = setInterval(() => void this.sweepOnce(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One sweep (a sweep already running is joined rather than doubled). */
  sweepOnce(): Promise<void> {
    this.sweeping ??= this.sweep()
      .catch((error: unknown) => this.options.log.warn({ err: error }, 'code collection failed; next sweep retries'))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweep(): Promise<void> {
    const prefix = this.keys.code('');
    const digests = (await this.indexedKeys(prefix)).map((key) => key.slice(prefix.length));
    const collected: string[] = [];
    for (let start = 0; start < digests.length; start += BATCH) {
      const batch = digests.slice(start, start + BATCH);
      const gone = (await withRedis(() =>
        this.redis.eval(
          COLLECT,
          0,
          this.keys.functionNames,
          this.keys.function(''),
          this.keys.functionVersions(''),
          this.keys.runtimeNames,
          this.keys.runtime(''),
          prefix,
          String(this.options.retentionMs),
          ...batch,
        ),
      )) as string[];
      collected.push(...gone);
    }
    let removed = 0;
    for (const digest of collected) {
      const hex = codeDigestHex(digest);
      if (hex && (await this.blobs.remove(hex, () => this.isIndexed(digest)))) removed += 1;
    }
    const orphans = await this.removeOrphanFiles();
    if (collected.length > 0 || orphans > 0) {
      this.options.log.info({ collected, filesRemoved: removed, orphanFilesRemoved: orphans }, 'unused code collected');
    }
  }

  /** Blob files no index entry accounts for, older than the retention. */
  private async removeOrphanFiles(): Promise<number> {
    const cutoff = (this.options.now ?? Date.now)() - this.options.retentionMs;
    let removed = 0;
    for (const { hex, writtenAtMs } of await this.blobs.list()) {
      if (writtenAtMs >= cutoff || (await this.isIndexed(codeDigestOf(hex)))) continue;
      if (await this.blobs.remove(hex, () => this.isIndexed(codeDigestOf(hex)))) removed += 1;
    }
    return removed;
  }

  private async isIndexed(digest: string): Promise<boolean> {
    return (await withRedis(() => this.redis.exists(this.keys.code(digest)))) === 1;
  }

  private async indexedKeys(prefix: string): Promise<string[]> {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await withRedis(() => this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys;
  }
}
