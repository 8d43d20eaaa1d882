/**
 * Function code on local disk, by digest: code/<hex>/ holds the unpacked
 * bundle that sandboxes mount read-only at /var/task. A bundle is fetched
 * from stubs once, verified against its digest, unpacked into a temporary
 * directory and renamed into place, so a crash or a concurrent fetch never
 * leaves a half-written directory under its final name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import { DEFAULT_UNPACK_LIMITS, unpackBundle, type UnpackLimits } from './bundle-unpacker.js';

/** Streams a bundle's bytes; stubs' GetCode in production. */
export type BundleSource = (digest: string) => AsyncIterable<Uint8Array>;

const DIGEST = /^sha256:([0-9a-f]{64})$/;
const TEMP_PREFIX = '.tmp-';
/** Largest bundle (compressed) the funclet will download. */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

export class CodeCache {
  private readonly fetches = new Map<string, Promise<string>>();

  constructor(
    private readonly codeRoot: string,
    private readonly source: BundleSource,
    private readonly log: Logger,
    private readonly limits: UnpackLimits = DEFAULT_UNPACK_LIMITS,
  ) {}

  /** Creates the cache directory and drops temporary directories a crashed fetch left. */
  async init(): Promise<void> {
    await mkdir(this.codeRoot, { recursive: true, mode: 0o755 });
    for (const name of await readdir(this.codeRoot)) {
      if (name.startsWith(TEMP_PREFIX)) await rm(join(this.codeRoot, name), { recursive: true, force: true });
    }
  }

  /** The directory holding the unpacked bundle, fetching it on first use. */
  async ensure(digest: string): Promise<string> {
    const hex = DIGEST.exec(digest)?.[1];
    if (!hex) throw new PlatformError('invalid_function_config', `code digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
    const dir = join(this.codeRoot, hex);
    if (await isDirectory(dir)) return dir;
    let fetch = this.fetches.get(hex);
    if (!fetch) {
      fetch = this.fetchAndUnpack(digest, hex, dir).finally(() => this.fetches.delete(hex));
      this.fetches.set(hex, fetch);
    }
    return fetch;
  }

  private async fetchAndUnpack(digest: string, hex: string, dir: string): Promise<string> {
    const started = performance.now();
    const bytes = await this.download(digest);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hex) {
      throw new PlatformError('bad_gateway', `stubs sent bytes whose digest is sha256:${actual}, not ${digest}`);
    }
    const temp = join(this.codeRoot, `${TEMP_PREFIX}${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    try {
      const summary = await unpackBundle(bytes, temp, this.limits);
      try {
        await rename(temp, dir);
      } catch (error) {
        // Another funclet process sharing the directory won the race: same bytes, keep theirs.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
      }
      this.log.info({ digest, files: summary.files, bytes: summary.bytes, bundleBytes: bytes.length, ms: Math.round(performance.now() - started) }, 'code cached');
      return dir;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  private async download(digest: string): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this.source(digest)) {
      size += chunk.length;
      if (size > MAX_BUNDLE_BYTES) throw new PlatformError('invalid_code_bundle', `the bundle is larger than ${MAX_BUNDLE_BYTES} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
