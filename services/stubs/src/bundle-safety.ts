/**
 * Refuses, at upload, a bundle that could not be unpacked safely, each
 * reason in its own words (code invalid_code_bundle): entries that leave
 * the bundle ("..", absolute paths), links pointing outside it, device
 * files, FIFOs and sockets, and bombs (too many files, too many bytes
 * unpacked, or a file that inflates far past its packed size). Only the
 * archive's directory is read for a zip; a tar.gz is streamed through once,
 * stopping at the first problem, so a bomb is never inflated in full.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { PlatformError } from '@faas/errors';
import { BUNDLE_LIMITS, bundleEntryPath, linkTargetProblem, sniffBundleFormat } from '@faas/protocol';

export type BundleLimits = { readonly [K in keyof typeof BUNDLE_LIMITS]: number };

const refuse = (message: string) => new PlatformError('invalid_code_bundle', message);

/** Counts files and bytes as entries come, refusing as soon as a limit is passed. */
class Tally {
  private files = 0;
  private bytes = 0;

  constructor(private readonly limits: BundleLimits) {}

  file(path: string, size: number, packedSize?: number): void {
    this.files += 1;
    this.bytes += size;
    if (this.files > this.limits.maxFiles) throw refuse(`the bundle has more than ${this.limits.maxFiles} files`);
    if (this.bytes > this.limits.maxBytes) throw refuse(`the bundle unpacks to more than ${this.limits.maxBytes} bytes`);
    if (packedSize !== undefined && size > this.limits.minRatioCheckBytes && size > packedSize * this.limits.maxRatio) {
      throw refuse(`${JSON.stringify(path)} inflates ${Math.round(size / Math.max(1, packedSize))} times its packed size (a zip bomb; at most ${this.limits.maxRatio})`);
    }
  }

  /** For a tar.gz: the whole stream's inflation against the packed file. */
  total(packedBytes: number): void {
    if (this.bytes > this.limits.minRatioCheckBytes && this.bytes > packedBytes * this.limits.maxRatio) {
      throw refuse(`the bundle inflates ${Math.round(this.bytes / Math.max(1, packedBytes))} times its packed size (a bomb; at most ${this.limits.maxRatio})`);
    }
  }
}

function checkedPath(name: string): string | undefined {
  const { path, problem } = bundleEntryPath(name);
  if (problem) throw refuse(problem);
  return path;
}

const FILE_TYPE = 0o170000;
const TYPES: Record<number, string | undefined> = { 0o100000: 'file', 0o040000: 'directory', 0o120000: 'link', 0o020000: 'character device', 0o060000: 'block device', 0o010000: 'FIFO', 0o140000: 'socket' };
const LINK_TARGET_MAX_BYTES = 4096;

export async function assertSafeBundle(path: string, limits: BundleLimits = BUNDLE_LIMITS): Promise<void> {
  try {
    const format = sniffBundleFormat(await buffer(createReadStream(path, { start: 0, end: 7 })));
    if (format === 'zip') await checkZip(path, limits);
    else if (format === 'tar.gz') await checkTarGz(path, limits);
  } catch (error) {
    if (error instanceof PlatformError) throw error;
    throw refuse(`the bundle cannot be read: ${(error as Error).message}`);
  }
}

async function checkZip(path: string, limits: BundleLimits): Promise<void> {
  const tally = new Tally(limits);
  const zip = await yauzl.openPromise(path, { lazyEntries: true, decodeStrings: false });
  try {
    for await (const entry of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const entryPath = checkedPath(name);
      // Only entries made on unix carry a type in the upper half of their attributes.
      const mode = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
      const type = mode === 0 ? (name.endsWith('/') ? 'directory' : 'file') : (TYPES[mode & FILE_TYPE] ?? 'unknown');
      if (type === 'directory') continue;
      if (type === 'link') {
        if (entry.uncompressedSize > LINK_TARGET_MAX_BYTES) throw refuse(`link ${JSON.stringify(name)} has a target longer than ${LINK_TARGET_MAX_BYTES} bytes`);
        const target = (await buffer(await zip.openReadStreamPromise(entry))).toString('utf8');
        const problem = linkTargetProblem(entryPath ?? name, target);
        if (problem) throw refuse(problem);
        continue;
      }
      if (type !== 'file') throw refuse(`entry ${JSON.stringify(name)} is a ${type}; a bundle holds files, folders and links inside it`);
      tally.file(name, entry.uncompressedSize, entry.compressedSize);
    }
  } finally {
    zip.close();
  }
}

const TAR_TYPES: Record<string, string> = { CharacterDevice: 'character device', BlockDevice: 'block device', FIFO: 'FIFO' };

async function checkTarGz(path: string, limits: BundleLimits): Promise<void> {
  const packedBytes = (await stat(path)).size;
  const tally = new Tally(limits);
  await new Promise<void>((resolve, reject) => {
    const source = createReadStream(path);
    const gunzip = createGunzip();
    const parser = new Parser({ strict: true });
    let failure: unknown;
    const fail = (error: unknown) => {
      if (failure) return;
      failure = error;
      // Nothing more is inflated once the answer is known.
      source.destroy();
      gunzip.destroy();
      reject(error instanceof PlatformError ? error : refuse(`the tar.gz archive is corrupt: ${(error as Error).message}`));
    };
    parser.on('entry', (entry: ReadEntry) => {
      entry.resume();
      if (failure) return;
      try {
        const entryPath = checkedPath(entry.path);
        const device = TAR_TYPES[entry.type];
        if (device) throw refuse(`entry ${JSON.stringify(entry.path)} is a ${device}; a bundle holds files, folders and links inside it`);
        if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          const problem = linkTargetProblem(entryPath ?? entry.path, entry.linkpath ?? '');
          if (problem) throw refuse(problem);
        } else if (entry.type !== 'Directory') {
          tally.file(entry.path, entry.size ?? 0);
          tally.total(packedBytes);
        }
      } catch (error) {
        fail(error);
      }
    });
    // What inflates is counted too, not only what the tar headers declare: padding after the archive's end inflates as well.
    let inflated = 0;
    gunzip.on('data', (chunk: Buffer) => {
      inflated += chunk.length;
      if (inflated > limits.maxBytes + 1024 * 1024) fail(refuse(`the bundle inflates to more than ${limits.maxBytes} bytes`));
    });
    parser.on('error', fail);
    gunzip.on('error', fail);
    source.on('error', fail);
    parser.on('end', () => {
      if (!failure) resolve();
    });
    source.pipe(gunzip).pipe(parser);
  });
}
