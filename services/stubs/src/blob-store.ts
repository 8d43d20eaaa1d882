import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '@faas/errors';
import { FORMAT_SNIFF_BYTES, sniffBundleFormat } from '@faas/protocol';

export interface StoredBlob {
  readonly hex: string;
  readonly size: number;
  /** False when a blob with the same bytes was already stored. */
  readonly created: boolean;
}

export const READ_CHUNK_BYTES = 256 * 1024;

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
export class BlobStore {
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

  pathOf(hex: string): string {
    return join(this.blobDir, hex);
  }

  /**
   * Stores an upload. `register` records the blob in the index once its file
   * is in place; the file is in place when put resolves.
   */
  async put(
    chunks: AsyncIterable<Uint8Array>,
    maxBytes: number,
    register: (hex: string, size: number) => Promise<void>,
    /** Looks at the whole upload before it is stored; throws to refuse it. */
    vet: (path: string) => Promise<void> = async () => undefined,
  ): Promise<StoredBlob> {
    const tmpPath = join(this.tmpDir, randomUUID());
    const hash = createHash('sha256');
    let handle: FileHandle | undefined = await open(tmpPath, 'wx', 0o644);
    let size = 0;
    let head = Buffer.alloc(0);
    try {
      for await (const chunk of chunks) {
        if (chunk.length === 0) continue;
        size += chunk.length;
        if (size > maxBytes) {
          throw new PlatformError('payload_too_large', `code bundles are limited to ${maxBytes} bytes`);
        }
        if (head.length < FORMAT_SNIFF_BYTES) {
          head = Buffer.concat([head, chunk.subarray(0, FORMAT_SNIFF_BYTES - head.length)]);
          // Reject a wrong format on the first chunk instead of storing it all.
          if (head.length >= FORMAT_SNIFF_BYTES) assertBundleFormat(head);
        }
        hash.update(chunk);
        await handle.write(chunk);
      }
      if (size === 0) throw new PlatformError('invalid_code_bundle', 'the code bundle is empty');
      assertBundleFormat(head);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await vet(tmpPath);

      const hex = hash.digest('hex');
      const created = await this.linkIntoPlace(tmpPath, hex);
      await register(hex, size);
      // A removal that started before the registration may have moved the blob aside.
      if ((await this.size(hex)) === undefined) await this.linkIntoPlace(tmpPath, hex);
      return { hex, size, created };
    } finally {
      await handle?.close().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
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

  /** Every stored blob's digest (hex) and when its file was last written. */
  async list(): Promise<Array<{ hex: string; writtenAtMs: number }>> {
    const blobs: Array<{ hex: string; writtenAtMs: number }> = [];
    for (const hex of await readdir(this.blobDir)) {
      const stats = await stat(this.pathOf(hex)).catch(() => undefined);
      if (stats?.isFile()) blobs.push({ hex, writtenAtMs: stats.mtimeMs });
    }
    return blobs;
  }

  /**
   * Deletes a blob unless `stillWanted` says otherwise once it is out of
   * place (an upload of the same bytes registered it meanwhile: it is put
   * back). Returns whether it was deleted.
   */
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

  /** The blob's bytes in chunks of READ_CHUNK_BYTES; code_not_found when absent. */
  async read(hex: string): Promise<AsyncIterable<Buffer>> {
    if ((await this.size(hex)) === undefined) throw new PlatformError('code_not_found', `no code bundle sha256:${hex}`);
    return createReadStream(this.pathOf(hex), { highWaterMark: READ_CHUNK_BYTES });
  }
}

function assertBundleFormat(head: Uint8Array): void {
  if (!sniffBundleFormat(head)) {
    throw new PlatformError('invalid_code_bundle', 'the code bundle must be a zip or a tar.gz archive');
  }
}
