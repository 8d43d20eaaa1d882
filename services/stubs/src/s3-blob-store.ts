import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { PlatformError } from '@faas/errors';
import { READ_CHUNK_BYTES, type BlobStore, type StoredBlob } from './blob-store.js';
import { spoolUpload } from './upload-spool.js';

export interface S3BlobStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Put before every key ("faas/" keeps the bundles under faas/sha256/<hex>); may be empty. */
  readonly prefix: string;
  /** Local folder for upload temp files and downloads (STUBS_DATA_DIR). */
  readonly dataDir: string;
  readonly now?: () => number;
}

/** Copies a removal made aside; older ones were left by a replica that died halfway and go at init. */
const ASIDE_LEFTOVER_AGE_MS = 60 * 60_000;
const HEX = /^[0-9a-f]{64}$/;

/**
 * Code bundles in an S3 bucket (AWS S3 or any S3-compatible store), which
 * several stubs replicas share: sha256/<hex> under the prefix. An upload is
 * spooled to a local temp file while it is hashed, then sent with one
 * PutObject, which S3 stores whole or not at all: a bundle is never seen
 * half-stored, whether the client or the link to S3 fails halfway.
 *
 * An upload and a removal of the same bytes may meet, on two replicas too:
 * as on disk (blob-store.ts), the removal moves the object aside (copy, then
 * delete), checks the index once more and moves it back if the upload
 * registered it meanwhile; the upload, once registered, sends its copy
 * again if the object is gone.
 *
 * S3 failures are service_unavailable: the caller may retry.
 */
export class S3BlobStore implements BlobStore {
  private readonly tmpDir: string;
  private readonly now: () => number;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.tmpDir = join(options.dataDir, 'tmp');
    this.now = options.now ?? Date.now;
  }

  private keyOf(hex: string): string {
    return `${this.options.prefix}sha256/${hex}`;
  }

  private get asidePrefix(): string {
    return `${this.options.prefix}removing/`;
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    for (const leftover of await readdir(this.tmpDir)) await rm(join(this.tmpDir, leftover), { force: true, recursive: true });
    // A bucket that is not there, or credentials that do not reach it, stop the service at start rather than at the first upload.
    for (const { key, lastModifiedMs } of await this.listKeys(this.asidePrefix)) {
      if (this.now() - lastModifiedMs > ASIDE_LEFTOVER_AGE_MS) await this.send((s3) => s3.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key })));
    }
  }

  async put(chunks: AsyncIterable<Uint8Array>, maxBytes: number, register: (hex: string, size: number) => Promise<void>, vet?: (path: string) => Promise<void>): Promise<StoredBlob> {
    const upload = await spoolUpload(chunks, maxBytes, this.tmpDir);
    try {
      await vet?.(upload.path);
      const { hex, size } = upload;
      // Same name, same bytes: a blob already there of the right size is this
      // one (of another size, a torn copy a crash left: it is replaced).
      const created = (await this.size(hex)) !== size;
      if (created) await this.putFile(upload.path, hex, size);
      await register(hex, size);
      // A removal that started before the registration may have taken the object away.
      if ((await this.size(hex)) === undefined) await this.putFile(upload.path, hex, size);
      return { hex, size, created };
    } finally {
      await upload.discard();
    }
  }

  private async putFile(path: string, hex: string, size: number): Promise<void> {
    try {
      await this.sendFile(path, hex, size);
    } catch (error) {
      // S3 keeps no part of a failed PutObject, but some S3-compatible stores
      // write in place and keep what arrived: a shorter object under this
      // name is a torn copy, never these bytes.
      const stored = await this.size(hex).catch(() => undefined);
      if (stored !== undefined && stored !== size) {
        await this.send((s3) => s3.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(hex) }))).catch(() => undefined);
      }
      throw error;
    }
  }

  private async sendFile(path: string, hex: string, size: number): Promise<void> {
    await this.send((s3) =>
      s3.send(new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: this.keyOf(hex),
        Body: createReadStream(path),
        ContentLength: size,
        ContentType: 'application/octet-stream',
      })),
    );
  }

  async size(hex: string): Promise<number | undefined> {
    try {
      const head = await this.options.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(hex) }));
      return head.ContentLength;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw unavailable(error);
    }
  }

  async list(): Promise<Array<{ hex: string; writtenAtMs: number }>> {
    const prefix = `${this.options.prefix}sha256/`;
    return (await this.listKeys(prefix))
      .map(({ key, lastModifiedMs }) => ({ hex: key.slice(prefix.length), writtenAtMs: lastModifiedMs }))
      .filter(({ hex }) => HEX.test(hex));
  }

  private async listKeys(prefix: string): Promise<Array<{ key: string; lastModifiedMs: number }>> {
    const keys: Array<{ key: string; lastModifiedMs: number }> = [];
    let token: string | undefined;
    do {
      const page = await this.send((s3) => s3.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token })));
      for (const object of page.Contents ?? []) {
        if (object.Key) keys.push({ key: object.Key, lastModifiedMs: object.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async remove(hex: string, stillWanted: () => Promise<boolean>): Promise<boolean> {
    const { bucket } = this.options;
    const key = this.keyOf(hex);
    const aside = `${this.asidePrefix}${hex}-${randomUUID()}`;
    try {
      await this.options.client.send(new CopyObjectCommand({ Bucket: bucket, Key: aside, CopySource: copySource(bucket, key) }));
    } catch (error) {
      if (isNotFound(error)) return false;
      throw unavailable(error);
    }
    try {
      await this.send((s3) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
      if (await stillWanted().catch(() => true)) {
        await this.send((s3) => s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: copySource(bucket, aside) })));
        return false;
      }
      return true;
    } finally {
      await this.send((s3) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: aside }))).catch(() => undefined);
    }
  }

  async read(hex: string): Promise<AsyncIterable<Buffer>> {
    return rechunk(await this.body(hex));
  }

  async withFile<T>(hex: string, use: (path: string) => Promise<T>): Promise<T> {
    const path = join(this.tmpDir, `download-${randomUUID()}`);
    try {
      await pipeline(await this.body(hex), createWriteStream(path, { flags: 'wx' }));
      return await use(path);
    } finally {
      await unlink(path).catch(() => undefined);
    }
  }

  private async body(hex: string): Promise<Readable> {
    try {
      const object = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(hex) }));
      return object.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new PlatformError('code_not_found', `no code bundle sha256:${hex}`);
      throw unavailable(error);
    }
  }

  /** Any S3 failure as service_unavailable. */
  private async send<Output>(call: (client: S3Client) => Promise<Output>): Promise<Output> {
    try {
      return await call(this.options.client);
    } catch (error) {
      throw unavailable(error);
    }
  }
}

/** Chunks of at most READ_CHUNK_BYTES, whatever sizes the HTTP body arrives in. */
async function* rechunk(body: AsyncIterable<Uint8Array>): AsyncIterable<Buffer> {
  for await (const piece of body) {
    const bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    for (let offset = 0; offset < bytes.length; offset += READ_CHUNK_BYTES) yield bytes.subarray(offset, offset + READ_CHUNK_BYTES);
  }
}

const copySource = (bucket: string, key: string) => `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404;
}

function unavailable(error: unknown): PlatformError {
  if (error instanceof PlatformError) return error;
  const detail = error instanceof S3ServiceException ? `${error.name}: ${error.message}` : (error as Error).message;
  return new PlatformError('service_unavailable', `the code store (S3) failed: ${detail}`, { cause: error });
}
