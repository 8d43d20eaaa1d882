import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '@faas/errors';
import { spoolUpload } from './upload-spool.js';

export interface StoredBlob {
  readonly hex: string;
  readonly size: number;
  /** False when a blob with the same bytes was already stored. */
  readonly created: boolean;
}

export const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Where code bundles' bytes live, named by their sha256 (hex): local disk
 * (DiskBlobStore) or an S3 bucket (S3BlobStore, s3-blob-store.ts) that
 * several stubs replicas share. Either way a blob is never seen
 * half-stored, and the same bytes are kept once.
 */
export interface BlobStore {
  /** Prepares the store and drops what a crash may have left behind. */
  init(): Promise<void>;
  /**
   * Stores an upload. `register` records the blob in the index once it is
   * in place; it is in place when put resolves, even if a removal of the
   * same bytes ran meanwhile (see remove). `vet` looks at the whole upload
   * (a local file) before anything is stored; it throws to refuse it.
   */
  put(chunks: AsyncIterable<Uint8Array>, maxBytes: number, register: (hex: string, size: number) => Promise<void>, vet?: (path: string) => Promise<void>): Promise<StoredBlob>;
  size(hex: string): Promise<number | undefined>;
  /** Every stored blob's digest (hex) and when it was last written. */
  list(): Promise<Array<{ hex: string; writtenAtMs: number }>>;
  /**
   * Deletes a blob unless `stillWanted` says otherwise once it is out of
   * place (an upload of the same bytes registered it meanwhile: it is put
   * back). Returns whether it was deleted.
   */
  remove(hex: string, stillWanted: () => Promise<boolean>): Promise<boolean>;
  /** The blob's bytes in chunks of at most READ_CHUNK_BYTES; code_not_found when absent. */
  read(hex: string): Promise<AsyncIterable<Buffer>>;
  /** Runs `use` on a local file holding the blob (archive readers want to seek); code_not_found when absent. */
  withFile<T>(hex: string, use: (path: string) => Promise<T>): Promise<T>;
}

/**
 * Code bundles on local disk, content-addressed by sha256: an upload streams
 * into a temp file while it is hashed, then is linked into place under its
 * digest, so a blob is never seen half-written and the same bytes are kept
 * once. The code collector (code-collector.ts) removes blobs nothing uses.
 *
 * An upload and a removal of the same bytes may meet: the removal moves the
 * blob aside, then checks the index once more and moves it back if the
 * upload registered it meanwhile; the upload, once registered, links its
 * copy in again if the blob was moved aside after all. Same digest, same
 * bytes, so whichever file ends in place is the right one.
 */
export class DiskBlobStore implements BlobStore {
  private readonly tmpDir: string;
  private readonly blobDir: string;

  constructor(dataDir: string) {
    this.tmpDir = join(dataDir, 'tmp');
    this.blobDir = join(dataDir, 'blobs', 'sha256');
  }

  /** Creates the directories and drops temp files a crash may have left behind. */
  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    for (const leftover of await readdir(this.tmpDir)) await rm(join(this.tmpDir, leftover), { force: true, recursive: true });
  }

  private pathOf(hex: string): string {
    return join(this.blobDir, hex);
  }

  async withFile<T>(hex: string, use: (path: string) => Promise<T>): Promise<T> {
    if ((await this.size(hex)) === undefined) throw new PlatformError('code_not_found', `no code bundle sha256:${hex} is stored`);
    return use(this.pathOf(hex));
  }

  async put(chunks: AsyncIterable<Uint8Array>, maxBytes: number, register: (hex: string, size: number) => Promise<void>, vet?: (path: string) => Promise<void>): Promise<StoredBlob> {
    const upload = await spoolUpload(chunks, maxBytes, this.tmpDir);
    try {
      await vet?.(upload.path);
      const { hex, size } = upload;
      const created = await this.linkIntoPlace(upload.path, hex);
      await register(hex, size);
      // A removal that started before the registration may have moved the blob aside.
      if ((await this.size(hex)) === undefined) await this.linkIntoPlace(upload.path, hex);
      return { hex, size, created };
    } finally {
      await upload.discard();
    }
  }

  /** link() fails when the name exists, which tells two identical uploads apart atomically. */
  private async linkIntoPlace(tmpPath: string, hex: string): Promise<boolean> {
    try {
      await link(tmpPath, this.pathOf(hex));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  async size(hex: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(hex))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(): Promise<Array<{ hex: string; writtenAtMs: number }>> {
    const blobs: Array<{ hex: string; writtenAtMs: number }> = [];
    for (const hex of await readdir(this.blobDir)) {
      const stats = await stat(this.pathOf(hex)).catch(() => undefined);
      if (stats?.isFile()) blobs.push({ hex, writtenAtMs: stats.mtimeMs });
    }
    return blobs;
  }

  async remove(hex: string, stillWanted: () => Promise<boolean>): Promise<boolean> {
    const aside = join(this.tmpDir, `removing-${hex}-${randomUUID()}`);
    try {
      await rename(this.pathOf(hex), aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    if (await stillWanted().catch(() => true)) {
      await rename(aside, this.pathOf(hex));
      return false;
    }
    await unlink(aside);
    return true;
  }

  async read(hex: string): Promise<AsyncIterable<Buffer>> {
    if ((await this.size(hex)) === undefined) throw new PlatformError('code_not_found', `no code bundle sha256:${hex}`);
    return createReadStream(this.pathOf(hex), { highWaterMark: READ_CHUNK_BYTES });
  }
}
