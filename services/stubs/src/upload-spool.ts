import { createHash, randomUUID } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '@faas/errors';
import { FORMAT_SNIFF_BYTES, sniffBundleFormat } from '@faas/protocol';

/** An upload written out to a temp file, whole, synced and hashed; `discard` removes the file. */
export interface SpooledUpload {
  readonly path: string;
  readonly hex: string;
  readonly size: number;
  discard(): Promise<void>;
}

/**
 * Streams an upload into a temp file under `tmpDir` while hashing it, so
 * that a blob store knows its digest (its name) before anything is stored
 * under that name. Refuses, and leaves no file, an upload that is over
 * `maxBytes`, empty, not a zip or tar.gz, or that ends in an error.
 */
export async function spoolUpload(chunks: AsyncIterable<Uint8Array>, maxBytes: number, tmpDir: string): Promise<SpooledUpload> {
  const path = join(tmpDir, randomUUID());
  const discard = () => unlink(path).catch(() => undefined);
  const hash = createHash('sha256');
  let handle: FileHandle | undefined = await open(path, 'wx', 0o644);
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
    return { path, hex: hash.digest('hex'), size, discard };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await discard();
    throw error;
  }
}

function assertBundleFormat(head: Uint8Array): void {
  if (!sniffBundleFormat(head)) {
    throw new PlatformError('invalid_code_bundle', 'the code bundle must be a zip or a tar.gz archive');
  }
}
