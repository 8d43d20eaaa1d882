/**
 * A few named files from the top level of a stored code bundle (zip or
 * tar.gz), found without unpacking the rest: what registering a custom
 * runtime checks (its bootstrap and runtime.json). Each name comes with how
 * much of it may be read (0: only whether it is there, and its size); only
 * regular files count (a link or a folder of that name is not found).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { PlatformError } from '@faas/errors';
import { FORMAT_SNIFF_BYTES, sniffBundleFormat } from '@faas/protocol';

export interface TopLevelFile {
  readonly size: number;
  /** Its content, for the names asked to be read. */
  readonly bytes?: Buffer;
  /** The archive said so (zip entries made elsewhere than on unix carry no mode). */
  readonly executable: boolean;
}

/** `wanted`: name → the most bytes of it read (0: not read). */
export async function readTopLevelFiles(path: string, wanted: ReadonlyMap<string, number>): Promise<Map<string, TopLevelFile>> {
  try {
    const format = sniffBundleFormat(await firstBytes(path));
    if (!format) throw new PlatformError('invalid_code_bundle', 'the bundle is neither a zip nor a tar.gz archive');
    return format === 'zip' ? await fromZip(path, wanted) : await fromTarGz(path, wanted);
  } catch (error) {
    if (error instanceof PlatformError) throw error;
    throw new PlatformError('invalid_code_bundle', `the bundle cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

/** "./bootstrap" and "bootstrap" are the same top-level name. */
const topLevel = (name: string) => name.replace(/^(\.\/)+/, '');

const tooLarge = (name: string, maxBytes: number) => new PlatformError('invalid_code_bundle', `${name} is larger than ${maxBytes} bytes`);

async function firstBytes(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(FORMAT_SNIFF_BYTES);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

const REGULAR_FILE = 0o100000;
const FILE_TYPE = 0o170000;

async function fromZip(path: string, wanted: ReadonlyMap<string, number>): Promise<Map<string, TopLevelFile>> {
  const found = new Map<string, TopLevelFile>();
  const zip = await yauzl.openPromise(path, { lazyEntries: true });
  try {
    for await (const entry of zip.eachEntry()) {
      const name = topLevel(entry.fileName);
      if (!wanted.has(name) || found.has(name)) continue;
      // Only entries made on unix carry a mode in the upper half of their attributes.
      const mode = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
      if (mode !== 0 && (mode & FILE_TYPE) !== REGULAR_FILE) continue;
      const readUpTo = wanted.get(name)!;
      const size = entry.uncompressedSize;
      if (readUpTo > 0 && size > readUpTo) throw tooLarge(name, readUpTo);
      const bytes = readUpTo > 0 ? await buffer(await zip.openReadStreamPromise(entry)) : undefined;
      found.set(name, { size, bytes, executable: (mode & 0o111) !== 0 });
    }
  } finally {
    zip.close();
  }
  return found;
}

const TAR_REGULAR = new Set(['File', 'OldFile', 'ContiguousFile']);

function fromTarGz(path: string, wanted: ReadonlyMap<string, number>): Promise<Map<string, TopLevelFile>> {
  return new Promise((resolve, reject) => {
    const found = new Map<string, TopLevelFile>();
    let failure: unknown;
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      const name = topLevel(entry.path);
      if (failure || !wanted.has(name) || found.has(name) || !TAR_REGULAR.has(entry.type)) return entry.resume();
      const readUpTo = wanted.get(name)!;
      const file = { size: entry.size, executable: ((entry.mode ?? 0) & 0o111) !== 0 };
      if (readUpTo === 0) {
        found.set(name, file);
        return entry.resume();
      }
      if (entry.size > readUpTo) {
        failure = tooLarge(name, readUpTo);
        return entry.resume();
      }
      const parts: Buffer[] = [];
      entry.on('data', (part: Buffer) => parts.push(part));
      entry.on('end', () => found.set(name, { ...file, bytes: Buffer.concat(parts) }));
    });
    parser.on('error', (error: Error) => (failure ??= error));
    parser.on('end', () => (failure ? reject(failure) : resolve(found)));
    createReadStream(path).on('error', reject).pipe(parser);
  });
}
