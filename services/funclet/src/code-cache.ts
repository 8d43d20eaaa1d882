/**
 * Function code on local disk, by digest: code/<hex>/ holds the unpacked
 * bundle. A bundle is fetched from stubs once, verified against its digest,
 * unpacked into a temporary directory and renamed into place, so a crash or a
 * concurrent fetch never leaves a half-written directory under its final
 * name.
 *
 * Sandboxes never see code/ itself: they get code-view/<hex>, the same files
 * through a read-only (nosuid, nodev) bind mount of the whole cache, so a
 * bind of one bundle from there is read-only from birth (see host-mounts.ts).
 *
 * Bounded: when the unpacked bundles exceed `maxBytes`, the least recently
 * used ones that no sandbox holds are deleted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '@faas/errors';
import { CODE_DIGEST_RULE, codeDigestHex, codeDigestOf, isCodeDigest } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import { DEFAULT_UNPACK_LIMITS, unpackBundle, type UnpackLimits } from './bundle-unpacker.js';

/** Streams a bundle's bytes; stubs' GetCode in production. */
export type BundleSource = (digest: string) => AsyncIterable<Uint8Array>;

const TEMP_PREFIX = '.tmp-';
/** Largest bundle (compressed) the funclet will download. */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

export interface CodeCacheOptions {
  readonly codeRoot: string;
  /** Read-only view of codeRoot that sandboxes bind from; codeRoot itself when absent (tests). */
  readonly viewRoot?: string;
  readonly source: BundleSource;
  readonly log: Logger;
  readonly maxBytes: number;
  readonly limits?: UnpackLimits;
}

/** A bundle held by a sandbox: not evicted until released. */
export interface CodeLease {
  /** Host directory of the read-only view of the bundle. */
  readonly viewDir: string;
  release(): void;
}

interface Entry {
  bytes: number;
  lastUsedAt: number;
  users: number;
}

export class CodeCache {
  private readonly fetches = new Map<string, Promise<void>>();
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  private clock = 0;

  constructor(private readonly options: CodeCacheOptions) {}

  get bytes(): number {
    return this.totalBytes;
  }

  get bundles(): number {
    return this.entries.size;
  }

  /** Creates the cache directory, drops what a crashed fetch left, and sizes what is there. */
  async init(): Promise<void> {
    const { codeRoot } = this.options;
    await mkdir(codeRoot, { recursive: true, mode: 0o755 });
    for (const name of await readdir(codeRoot)) {
      if (name.startsWith(TEMP_PREFIX)) await rm(join(codeRoot, name), { recursive: true, force: true });
      else if (isCodeDigest(codeDigestOf(name))) this.add(name, await directoryBytes(join(codeRoot, name)));
    }
    await this.evict();
  }

  /** The bundle's read-only directory, fetching it on first use; held until released. */
  async acquire(digest: string): Promise<CodeLease> {
    const hex = codeDigestHex(digest);
    if (!hex) throw new PlatformError('invalid_function_config', `code digest ${JSON.stringify(digest)} is not ${CODE_DIGEST_RULE}`);
    if (!this.entries.has(hex)) {
      let fetch = this.fetches.get(hex);
      if (!fetch) {
        fetch = this.fetchAndUnpack(digest, hex).finally(() => this.fetches.delete(hex));
        this.fetches.set(hex, fetch);
      }
      await fetch;
    }
    const entry = this.entries.get(hex);
    if (!entry) throw new PlatformError('internal', `code ${digest} was evicted while being fetched`);
    entry.users += 1;
    entry.lastUsedAt = ++this.clock;
    let released = false;
    return {
      viewDir: join(this.options.viewRoot ?? this.options.codeRoot, hex),
      release: () => {
        if (released) return;
        released = true;
        entry.users -= 1;
        entry.lastUsedAt = ++this.clock;
        void this.evict();
      },
    };
  }

  private add(hex: string, bytes: number): void {
    this.entries.set(hex, { bytes, lastUsedAt: ++this.clock, users: 0 });
    this.totalBytes += bytes;
  }

  /** Deletes least recently used bundles nobody holds until the cache fits. */
  private async evict(): Promise<void> {
    if (this.totalBytes <= this.options.maxBytes) return;
    const candidates = [...this.entries].filter(([, entry]) => entry.users === 0).sort(([, a], [, b]) => a.lastUsedAt - b.lastUsedAt);
    for (const [hex, entry] of candidates) {
      if (this.totalBytes <= this.options.maxBytes) break;
      if (entry.users > 0 || this.fetches.has(hex)) continue;
      this.entries.delete(hex);
      this.totalBytes -= entry.bytes;
      await rm(join(this.options.codeRoot, hex), { recursive: true, force: true });
      this.options.log.info({ digest: codeDigestOf(hex), bytes: entry.bytes, cacheBytes: this.totalBytes }, 'code evicted');
    }
  }

  private async fetchAndUnpack(digest: string, hex: string): Promise<void> {
    const { codeRoot, log } = this.options;
    const dir = join(codeRoot, hex);
    const started = performance.now();
    const bytes = await this.download(digest);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hex) {
      throw new PlatformError('bad_gateway', `stubs sent bytes whose digest is sha256:${actual}, not ${digest}`);
    }
    const temp = join(codeRoot, `${TEMP_PREFIX}${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    try {
      const summary = await unpackBundle(bytes, temp, this.options.limits ?? DEFAULT_UNPACK_LIMITS);
      try {
        await rename(temp, dir);
      } catch (error) {
        // Another funclet process sharing the directory won the race: same bytes, keep theirs.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
      }
      this.add(hex, summary.bytes);
      log.info({ digest, files: summary.files, bytes: summary.bytes, bundleBytes: bytes.length, ms: Math.round(performance.now() - started) }, 'code cached');
      // The new bundle is the most recently used: evict others to make room, not it.
      void this.evict();
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  private async download(digest: string): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this.options.source(digest)) {
      size += chunk.length;
      if (size > MAX_BUNDLE_BYTES) throw new PlatformError('invalid_code_bundle', `the bundle is larger than ${MAX_BUNDLE_BYTES} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else total += (await lstat(path).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
