import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { PlatformError } from '@faas/errors';
import { DiskBlobStore, READ_CHUNK_BYTES } from './blob-store.js';

async function* chunked(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

async function rejection(promise: Promise<unknown>): Promise<PlatformError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PlatformError);
  return error as PlatformError;
}

/** An index that records nothing (the code store's Redis index is not under test here). */
const unindexed = async () => {};

describe('DiskBlobStore', () => {
  let dir: string;
  let store: DiskBlobStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stubs-blobs-'));
    store = new DiskBlobStore(dir);
    await store.init();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const bundle = zipSync({ 'index.js': new TextEncoder().encode('exports.handler = async () => 1;\n'.repeat(50_000)) }, { level: 0 });

  it('stores bytes under their sha256 once, and reads them back in 256 KiB chunks', async () => {
    const first = await store.put(chunked(bundle, 7_000), 10 * 1024 * 1024, unindexed);
    expect(first).toEqual({ hex: createHash('sha256').update(bundle).digest('hex'), size: bundle.length, created: true });
    const second = await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, unindexed);
    expect(second).toEqual({ ...first, created: false });
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([first.hex]);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);

    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(first.hex)) chunks.push(chunk);
    expect(chunks[0]!.length).toBe(READ_CHUNK_BYTES);
    expect(Buffer.concat(chunks).equals(Buffer.from(bundle))).toBe(true);
  });

  it('refuses bundles over the limit and leaves no temp file', async () => {
    const error = await rejection(store.put(chunked(bundle, 1000), bundle.length - 1, unindexed));
    expect(error.code).toBe('payload_too_large');
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('refuses empty bundles and bytes that are neither zip nor gzip', async () => {
    expect((await rejection(store.put(chunked(new Uint8Array(), 1), 100, unindexed))).code).toBe('invalid_code_bundle');
    const text = new TextEncoder().encode('just some javascript');
    expect((await rejection(store.put(chunked(text, 2), 100, unindexed))).code).toBe('invalid_code_bundle');
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('removes a blob, unless it is wanted again by the time it is out of place', async () => {
    const { hex } = await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, unindexed);
    expect(await store.remove(hex, async () => true)).toBe(false);
    expect(await store.size(hex)).toBe(bundle.length);
    expect((await store.list()).map((blob) => blob.hex)).toEqual([hex]);
    expect(await store.remove(hex, async () => false)).toBe(true);
    expect(await store.size(hex)).toBeUndefined();
    expect(await store.remove(hex, async () => false), 'already gone').toBe(false);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('keeps an upload whose blob a removal took away while it was being registered', async () => {
    const first = await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, unindexed);
    // The same bytes again; the collector removes the old file between the link and the registration.
    const again = await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, async (hex) => {
      expect(await store.remove(hex, async () => false)).toBe(true);
    });
    expect(again).toEqual({ ...first, created: false });
    expect(await store.size(first.hex)).toBe(bundle.length);
  });

  it('answers code_not_found for an unknown blob', async () => {
    expect((await rejection(store.read('b'.repeat(64)))).code).toBe('code_not_found');
  });
});
