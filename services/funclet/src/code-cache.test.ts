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
    const cache = new CodeCache({ codeRoot: join(root, 'code'), source, log: silent, maxBytes: 1 << 30 });
    await cache.init();
    const leases = await Promise.all([cache.acquire(digest), cache.acquire(digest), cache.acquire(digest)]);
    const dirs = leases.map((lease) => lease.viewDir);
    expect(new Set(dirs).size).toBe(1);
    expect(await readFile(join(dirs[0]!, 'index.js'), 'utf8')).toBe('exports.handler = () => 1;');
    for (const lease of leases) lease.release();
    (await cache.acquire(digest)).release();
    expect(source.calls).toBe(1);
    expect(await readdir(join(root, 'code'))).toEqual([digest.slice('sha256:'.length)]);
  });

  it('refuses bytes that do not match the digest and leaves nothing behind', async () => {
    const other = zipSync({ 'index.js': strToU8('tampered') });
    const cache = new CodeCache({ codeRoot: join(root, 'code'), source: countingSource(other), log: silent, maxBytes: 1 << 30 });
    await cache.init();
    const error = await cache.acquire(digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).code).toBe('bad_gateway');
    expect(await readdir(join(root, 'code'))).toEqual([]);
  });

  it('rejects malformed digests and clears half-unpacked directories at start', async () => {
    await mkdir(join(root, 'code', '.tmp-abc-123'), { recursive: true });
    const cache = new CodeCache({ codeRoot: join(root, 'code'), source: countingSource(bundle), log: silent, maxBytes: 1 << 30 });
    await cache.init();
    expect(await readdir(join(root, 'code'))).toEqual([]);
    const error = await cache.acquire('md5:abc').catch((e: unknown) => e);
    expect((error as PlatformError).code).toBe('invalid_function_config');
  });

  it('evicts the least recently used bundles nobody holds once over its size, and never one in use', async () => {
    const bundles = [0, 1, 2, 3].map((i) => zipSync({ 'index.js': strToU8(`exports.handler = () => '${String(i).repeat(1000)}';`) }));
    const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const byDigest = new Map(bundles.map((bytes) => [digestOf(bytes), bytes]));
    const source = async function* (wanted: string) {
      yield byDigest.get(wanted)!;
    };
    // Room for two bundles of about 1 KB unpacked, not three.
    const cache = new CodeCache({ codeRoot: join(root, 'code'), source, log: silent, maxBytes: 2500 });
    await cache.init();
    const held = await cache.acquire(digestOf(bundles[0]!));
    (await cache.acquire(digestOf(bundles[1]!))).release();
    (await cache.acquire(digestOf(bundles[2]!))).release();
    (await cache.acquire(digestOf(bundles[3]!))).release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const left = await readdir(join(root, 'code'));
    const hex = (bytes: Uint8Array) => digestOf(bytes).slice('sha256:'.length);
    // 0 is held by a sandbox, 3 is the newest; 1 and 2 went, oldest first.
    expect(left.sort()).toEqual([hex(bundles[0]!), hex(bundles[3]!)].sort());
    expect(await readFile(join(held.viewDir, 'index.js'), 'utf8')).toContain('0000');
    held.release();
    expect(cache.bytes).toBeLessThanOrEqual(2500);
  });
});
