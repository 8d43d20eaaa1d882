import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { createLogger } from '@faas/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { CodeCache } from './code-cache.js';

const bundle = zipSync({ 'index.js': strToU8('exports.handler = () => 1;') });
const digest = `sha256:${createHash('sha256').update(bundle).digest('hex')}`;
const silent = createLogger('funclet-test', 'silent');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'code-cache-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

function countingSource(bytes: Uint8Array) {
  const source = Object.assign(
    async function* () {
      source.calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let offset = 0; offset < bytes.length; offset += 100) yield bytes.subarray(offset, offset + 100);
    },
    { calls: 0 },
  );
  return source;
}

describe('CodeCache', () => {
  it('fetches a digest once, even when asked concurrently, and then serves it from disk', async () => {
    const source = countingSource(bundle);
    const cache = new CodeCache(join(root, 'code'), source, silent);
    await cache.init();
    const dirs = await Promise.all([cache.ensure(digest), cache.ensure(digest), cache.ensure(digest)]);
    expect(new Set(dirs).size).toBe(1);
    expect(await readFile(join(dirs[0]!, 'index.js'), 'utf8')).toBe('exports.handler = () => 1;');
    await cache.ensure(digest);
    expect(source.calls).toBe(1);
    expect(await readdir(join(root, 'code'))).toEqual([digest.slice('sha256:'.length)]);
  });

  it('refuses bytes that do not match the digest and leaves nothing behind', async () => {
    const other = zipSync({ 'index.js': strToU8('tampered') });
    const cache = new CodeCache(join(root, 'code'), countingSource(other), silent);
    await cache.init();
    const error = await cache.ensure(digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).code).toBe('bad_gateway');
    expect(await readdir(join(root, 'code'))).toEqual([]);
  });

  it('rejects malformed digests and clears half-unpacked directories at start', async () => {
    await mkdir(join(root, 'code', '.tmp-abc-123'), { recursive: true });
    const cache = new CodeCache(join(root, 'code'), countingSource(bundle), silent);
    await cache.init();
    expect(await readdir(join(root, 'code'))).toEqual([]);
    const error = await cache.ensure('md5:abc').catch((e: unknown) => e);
    expect((error as PlatformError).code).toBe('invalid_function_config');
  });
});
