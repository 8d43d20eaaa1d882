import type { Redis } from 'ioredis';
import { PlatformError } from '@faas/errors';
import { CODE_DIGEST_RULE, codeDigestHex, codeDigestOf } from '@faas/protocol';
import type { BlobStore } from './blob-store.js';
import { withRedis } from '@faas/redis';
import type { StubsKeys } from './redis-keys.js';

export interface PutCodeResult {
  readonly digest: string;
  readonly size: bigint;
  readonly created: boolean;
}

/**
 * The code store: bytes on disk (BlobStore), and an index in Redis that
 * PutFunction checks, so a function can only point at uploaded code.
 */
export class CodeStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly maxBytes: number,
  ) {}

  async put(chunks: AsyncIterable<Uint8Array>): Promise<PutCodeResult> {
    const blob = await this.blobs.put(chunks, this.maxBytes);
    const digest = codeDigestOf(blob.hex);
    // HSETNX keeps the first upload's time when the same bytes come again,
    // and re-creates the record if Redis lost it while the blob survived.
    await withRedis(() =>
      this.redis
        .multi()
        .hsetnx(this.keys.code(digest), 'size', String(blob.size))
        .hsetnx(this.keys.code(digest), 'createdAtMs', String(Date.now()))
        .exec(),
    );
    return { digest, size: BigInt(blob.size), created: blob.created };
  }

  /** Streams the bundle; bad_request for a malformed digest, code_not_found when unknown. */
  read(digest: string): Promise<AsyncIterable<Buffer>> {
    const hex = codeDigestHex(digest);
    if (!hex) throw new PlatformError('bad_request', `digest must be ${CODE_DIGEST_RULE}, got ${JSON.stringify(digest.slice(0, 80))}`);
    return this.blobs.read(hex);
  }

  async assertExists(digest: string): Promise<void> {
    const known = await withRedis(() => this.redis.exists(this.keys.code(digest)));
    if (!known) throw new PlatformError('code_not_found', `no code bundle ${digest} has been uploaded`);
  }
}
