/**
 * Unpacks a function's code bundle (zip or tar.gz) into a directory, safely:
 * entries may not escape the directory, links and device files are skipped,
 * and the total size and file count are capped so a small bundle cannot
 * expand into a disk-filling one. Everything written is world-readable,
 * because sandboxes run as an unprivileged uid.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { PlatformError } from '@faas/errors';
import { BUNDLE_LIMITS, bundleEntryPath, sniffBundleFormat } from '@faas/protocol';

export interface UnpackLimits {
  /** Sum of all unpacked file sizes. */
  readonly maxBytes: number;
  readonly maxFiles: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxBytes: BUNDLE_LIMITS.maxBytes, maxFiles: BUNDLE_LIMITS.maxFiles };

export interface UnpackSummary {
  readonly files: number;
  readonly bytes: number;
}

interface BundleEntry {
  /** Relative, normalised, checked to stay inside the target. */
  readonly path: string;
  readonly kind: 'file' | 'directory';
  readonly data?: Uint8Array;
  readonly executable: boolean;
}

/** `targetDir` must not exist yet; it is created world-readable. */
export async function unpackBundle(bytes: Uint8Array, targetDir: string, limits: UnpackLimits = DEFAULT_UNPACK_LIMITS): Promise<UnpackSummary> {
  const format = sniffBundleFormat(bytes);
  if (!format) throw invalid('the bundle is neither a zip nor a tar.gz archive');
  const entries = format === 'zip' ? await readZip(bytes, limits) : await readTarGz(bytes, limits);
  const files = entries.filter((entry) => entry.kind === 'file');
  if (files.length === 0) throw invalid('the bundle contains no files');
  await writeEntries(targetDir, entries);
  return { files: files.length, bytes: files.reduce((sum, entry) => sum + entry.data!.length, 0) };
}

/**
 * An entry name as a safe relative path, or an error for names that would
 * land outside the target directory.
 */
export function safeRelativePath(name: string): string | undefined {
  const { path, problem } = bundleEntryPath(name);
  if (problem) throw invalid(problem);
  return path;
}

class Budget {
  private files = 0;
  private bytes = 0;

  constructor(private readonly limits: UnpackLimits) {}

  admit(size: number): void {
    this.files += 1;
    this.bytes += size;
    if (this.files > this.limits.maxFiles) throw invalid(`the bundle has more than ${this.limits.maxFiles} files`);
    if (this.bytes > this.limits.maxBytes) throw invalid(`the bundle unpacks to more than ${this.limits.maxBytes} bytes`);
  }
}

const UNIX_HOST = 3;
const FILE_TYPE_MASK = 0o170000;
const REGULAR_FILE = 0o100000;
const DIRECTORY = 0o040000;

/** The entry's unix mode (type and permissions); undefined when it was not made on unix. */
function unixMode(entry: yauzl.Entry): number | undefined {
  const mode = entry.externalFileAttributes >>> 16;
  return entry.versionMadeBy >> 8 === UNIX_HOST && mode !== 0 ? mode : undefined;
}

async function readZip(bytes: Uint8Array, limits: UnpackLimits): Promise<BundleEntry[]> {
  const budget = new Budget(limits);
  const entries: BundleEntry[] = [];
  try {
    // Undecoded names: safeRelativePath then says what is wrong with a bad
    // one, where yauzl's own check would only call the whole archive corrupt.
    const zip = await yauzl.fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { decodeStrings: false });
    for await (const entry of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const mode = unixMode(entry);
      const isDirectory = name.endsWith('/') || (mode !== undefined && (mode & FILE_TYPE_MASK) === DIRECTORY);
      // Links and special files are dropped: only plain files and folders make it into a sandbox.
      if (mode !== undefined && !isDirectory && (mode & FILE_TYPE_MASK) !== REGULAR_FILE) continue;
      const path = safeRelativePath(name);
      if (!path) continue;
      const executable = mode !== undefined && (mode & 0o111) !== 0;
      if (isDirectory) {
        entries.push({ path, kind: 'directory', executable });
        continue;
      }
      // yauzl fails an entry that inflates to more than its declared size,
      // so capping the declared sizes caps what inflation can produce.
      budget.admit(entry.uncompressedSize);
      entries.push({ path, kind: 'file', executable, data: await buffer(await zip.openReadStreamPromise(entry)) });
    }
  } catch (error) {
    if (error instanceof PlatformError) throw error;
    throw invalid(`the zip archive is corrupt: ${(error as Error).message}`, error);
  }
  return entries;
}

const TAR_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function readTarGz(bytes: Uint8Array, limits: UnpackLimits): Promise<BundleEntry[]> {
  return new Promise((resolve, reject) => {
    const budget = new Budget(limits);
    const entries: BundleEntry[] = [];
    let failure: unknown;
    const fail = (error: unknown) => {
      failure ??= error instanceof PlatformError ? error : invalid(`the tar.gz archive is corrupt: ${(error as Error).message}`, error);
    };
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      if (failure) return entry.resume();
      try {
        const isFile = TAR_FILE_TYPES.has(entry.type);
        if (!isFile && entry.type !== 'Directory') return entry.resume();
        const path = safeRelativePath(entry.path);
        if (!path) return entry.resume();
        const executable = ((entry.mode ?? 0) & 0o111) !== 0;
        if (!isFile) {
          entries.push({ path, kind: 'directory', executable });
          return entry.resume();
        }
        budget.admit(entry.size);
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => entries.push({ path, kind: 'file', executable, data: Buffer.concat(chunks) }));
      } catch (error) {
        fail(error);
        entry.resume();
      }
    });
    parser.on('error', fail);
    parser.on('end', () => (failure ? reject(failure) : resolve(entries)));
    parser.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}

async function writeEntries(targetDir: string, entries: readonly BundleEntry[]): Promise<void> {
  await mkdir(targetDir, { mode: 0o755 });
  await chmod(targetDir, 0o755);
  const createdDirs = new Set<string>();
  const ensureDir = async (relative: string) => {
    if (relative === '.' || relative === '' || createdDirs.has(relative)) return;
    await mkdir(join(targetDir, relative), { recursive: true, mode: 0o755 });
    // mkdir's mode is filtered by the umask; the sandbox's uid must traverse every level.
    let current = relative;
    while (current !== '.' && !createdDirs.has(current)) {
      await chmod(join(targetDir, current), 0o755);
      createdDirs.add(current);
      current = dirname(current);
    }
  };
  try {
    for (const entry of entries) {
      if (entry.kind === 'directory') {
        await ensureDir(entry.path);
        continue;
      }
      await ensureDir(dirname(entry.path));
      const mode = entry.executable ? 0o755 : 0o644;
      const file = join(targetDir, entry.path);
      await writeFile(file, entry.data!, { mode });
      await chmod(file, mode);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
      throw invalid(`the bundle has conflicting entries: ${(error as Error).message}`, error);
    }
    throw error;
  }
}

function invalid(message: string, cause?: unknown): PlatformError {
  return new PlatformError('invalid_code_bundle', message, cause === undefined ? undefined : { cause });
}
