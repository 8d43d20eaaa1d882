import type { Redis } from 'ioredis';
import { PlatformError } from '@faas/errors';
import { CODE_DIGEST_RULE, codeDigestHex, codeDigestOf } from '@faas/protocol';
import type { BlobStore } from './blob-store.js';
import { assertSafeBundle } from './bundle-safety.js';
import { readTopLevelFiles, type TopLevelFile } from './bundle-files.js';
import { MARK_CODE_USED } from './code-use.js';
import { withRedis } from '@faas/redis';
import type { StubsKeys } from './redis-keys.js';

export interface PutCodeResult {
  readonly digest: string;
  readonly size: bigint;
  readonly created: boolean;
}

/**
 * The code store: bytes on disk or in S3 (a BlobStore), and an index in Redis that
 * PutFunction checks, so a function can only point at uploaded code. Each
 * index entry records when the bundle was last used (code-use.ts), which is
 * what the collector goes by.
 */
export class CodeStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly maxBytes: number,
  ) {}

  async put(chunks: AsyncIterable<Uint8Array>): Promise<PutCodeResult> {
    // HSETNX (in the script) keeps the first upload's size and time when the
    // same bytes come again, and re-creates the record if Redis lost it while
    // the blob survived; the upload counts as a use either way.
    const blob = await this.blobs.put(
      chunks,
      this.maxBytes,
      (hex, size) => withRedis(() => this.redis.eval(MARK_CODE_USED, 1, this.keys.code(codeDigestOf(hex)), 'create', String(size))).then(() => undefined),
      // Refused at upload, with the reason, rather than at a funclet on the first call.
      (path) => assertSafeBundle(path),
    );
    return { digest: codeDigestOf(blob.hex), size: BigInt(blob.size), created: blob.created };
  }

  /** Streams the bundle; bad_request for a malformed digest, code_not_found when unknown. */
  read(digest: string): Promise<AsyncIterable<Buffer>> {
    const hex = codeDigestHex(digest);
    if (!hex) throw new PlatformError('bad_request', `digest must be ${CODE_DIGEST_RULE}, got ${JSON.stringify(digest.slice(0, 80))}`);
    return this.blobs.read(hex);
  }

  /** Named files at the top of a stored bundle (see bundle-files.ts); code_not_found when it is not stored. */
  async topLevelFiles(digest: string, wanted: ReadonlyMap<string, number>): Promise<Map<string, TopLevelFile>> {
    const hex = codeDigestHex(digest);
    if (!hex) throw new PlatformError('code_not_found', `no code bundle ${digest} is stored`);
    return this.blobs.withFile(hex, (path) => readTopLevelFiles(path, wanted));
  }

  /**
   * Marks an uploaded bundle used before a function or runtime refers to it,
   * so the collector keeps it for the retention at least: code_not_found when
   * it was never uploaded, or was collected already.
   */
  async markUsed(digest: string): Promise<void> {
    const known = await withRedis(() => this.redis.eval(MARK_CODE_USED, 1, this.keys.code(digest), 'existing'));
    if (known !== 1) throw new PlatformError('code_not_found', `no code bundle ${digest} has been uploaded`);
  }
}
