import { lstat, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { Header } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { safeRelativePath, unpackBundle } from './bundle-unpacker.js';

interface TarEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice';
  data?: string;
  linkpath?: string;
  mode?: number;
}

/** A tar.gz built block by block, so tests can include entries no well-behaved tool writes. */
function tarGz(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const type = entry.type ?? 'File';
    const header = new Header({
      path: entry.path,
      type,
      size: type === 'File' ? data.length : 0,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o600),
      linkpath: entry.linkpath,
      mtime: new Date(0),
      uid: 1234,
      gid: 1234,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && data.length > 0) {
      const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
      data.copy(padded);
      blocks.push(padded);
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const text = (value: string) => new TextEncoder().encode(value);

/**
 * A stored (uncompressed) zip in ZIP64 form: every size and offset in the
 * classic records is 0xFFFFFFFF and the real ones are in ZIP64 extra fields
 * and end records, as tools write for large or streamed archives.
 */
function zip64(entries: { name: string; data: string; mode: number }[]): Buffer {
  const u16 = (value: number) => Buffer.from(Uint16Array.of(value).buffer);
  const u32 = (value: number) => Buffer.from(Uint32Array.of(value).buffer);
  const u64 = (value: number) => Buffer.from(BigUint64Array.of(BigInt(value)).buffer);
  const UNKNOWN = 0xffffffff;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const data = Buffer.from(entry.data);
    const crc = crc32(data);
    const localExtra = Buffer.concat([u16(0x0001), u16(16), u64(data.length), u64(data.length)]);
    const local = Buffer.concat([
      u32(0x04034b50), u16(45), u16(0), u16(0), u16(0), u16(0), u32(crc), u32(UNKNOWN), u32(UNKNOWN),
      u16(name.length), u16(localExtra.length), name, localExtra, data,
    ]);
    const centralExtra = Buffer.concat([u16(0x0001), u16(24), u64(data.length), u64(data.length), u64(offset)]);
    centrals.push(Buffer.concat([
      u32(0x02014b50), u16((3 << 8) | 45), u16(45), u16(0), u16(0), u16(0), u16(0), u32(crc), u32(UNKNOWN), u32(UNKNOWN),
      u16(name.length), u16(centralExtra.length), u16(0), u16(0), u16(0), u32((entry.mode << 16) >>> 0), u32(UNKNOWN),
      name, centralExtra,
    ]));
    locals.push(local);
    offset += local.length;
  }
  const directory = Buffer.concat(centrals);
  const zip64End = Buffer.concat([
    u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(entries.length), u64(entries.length), u64(directory.length), u64(offset),
  ]);
  const locator = Buffer.concat([u32(0x07064b50), u32(0), u64(offset + directory.length), u32(1)]);
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(UNKNOWN), u32(UNKNOWN), u16(0)]);
  return Buffer.concat([...locals, directory, zip64End, locator, end]);
}

let root: string;
let target: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'unpacker-'));
  target = join(root, 'out');
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function expectInvalid(promise: Promise<unknown>, pattern: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PlatformError);
  expect((error as PlatformError).code).toBe('invalid_code_bundle');
  expect((error as PlatformError).message).toMatch(pattern);
}

describe('unpackBundle', () => {
  it('unpacks a zip with nested folders, world-readable, skipping symlinks', async () => {
    const zip = zipSync({
      'index.js': text('exports.handler = async () => 1;'),
      'lib/': [new Uint8Array(0), { os: 3, attrs: (0o040700 << 16) >>> 0 }],
      'lib/util.js': [text('module.exports = 2;'), { os: 3, attrs: (0o100600 << 16) >>> 0 }],
      'bin/tool': [text('#!/bin/sh'), { os: 3, attrs: (0o100700 << 16) >>> 0 }],
      'passwd': [text('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }],
    });
    const summary = await unpackBundle(zip, target);
    expect(summary.files).toBe(3);
    expect(await readFile(join(target, 'lib/util.js'), 'utf8')).toBe('module.exports = 2;');
    expect((await stat(join(target, 'lib/util.js'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(target, 'lib'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(target, 'bin/tool'))).mode & 0o777).toBe(0o755);
    expect((await stat(target)).mode & 0o777).toBe(0o755);
    expect((await readdir(target)).sort()).toEqual(['bin', 'index.js', 'lib']);
  });

  it('unpacks a ZIP64 zip, still telling links from files', async () => {
    const bundle = zip64([
      { name: 'index.js', data: 'exports.handler = async () => 64;', mode: 0o100644 },
      { name: 'bin/run', data: '#!/bin/sh', mode: 0o100755 },
      { name: 'shadow', data: '/etc/shadow', mode: 0o120777 },
    ]);
    const summary = await unpackBundle(bundle, target);
    expect(summary).toEqual({ files: 2, bytes: 42 });
    expect(await readFile(join(target, 'index.js'), 'utf8')).toBe('exports.handler = async () => 64;');
    expect((await stat(join(target, 'bin/run'))).mode & 0o777).toBe(0o755);
    expect((await readdir(target)).sort()).toEqual(['bin', 'index.js']);
  });

  it('unpacks a tar.gz, skipping links and devices and dropping ownership', async () => {
    const bundle = tarGz([
      { path: 'app/', type: 'Directory', mode: 0o700 },
      { path: 'app/index.mjs', data: 'export const handler = () => 42;' },
      { path: 'app/shadow', type: 'SymbolicLink', linkpath: '/etc/shadow' },
      { path: 'app/hard', type: 'Link', linkpath: 'app/index.mjs' },
      { path: 'app/null', type: 'CharacterDevice' },
    ]);
    const summary = await unpackBundle(bundle, target);
    expect(summary).toEqual({ files: 1, bytes: 32 });
    expect(await readdir(join(target, 'app'))).toEqual(['index.mjs']);
    const info = await lstat(join(target, 'app/index.mjs'));
    expect(info.isFile()).toBe(true);
    expect(info.mode & 0o777).toBe(0o644);
    expect(info.uid).toBe(process.getuid!());
    expect((await stat(join(target, 'app'))).mode & 0o777).toBe(0o755);
  });

  it('rejects a tar.gz entry that escapes with ".." and writes nothing outside', async () => {
    const bundle = tarGz([
      { path: 'index.js', data: 'ok' },
      { path: '../escaped.js', data: 'evil' },
    ]);
    await expectInvalid(unpackBundle(bundle, target), /escapes/);
    await expect(stat(join(root, 'escaped.js'))).rejects.toThrow(/ENOENT/);
  });

  it('rejects zip entries with ".." or absolute paths', async () => {
    await expectInvalid(unpackBundle(zipSync({ 'a/../../evil.js': text('x') }), target), /escapes/);
    await expectInvalid(unpackBundle(zipSync({ '/etc/evil.js': text('x') }), target), /absolute/);
  });

  it('caps the unpacked size and the file count', async () => {
    const big = zipSync({ 'big.bin': new Uint8Array(2048) }, { level: 9 });
    await expectInvalid(unpackBundle(big, target, { maxBytes: 1024, maxFiles: 10 }), /more than 1024 bytes/);
    const many = tarGz(Array.from({ length: 5 }, (_, i) => ({ path: `f${i}.js`, data: 'x' })));
    await expectInvalid(unpackBundle(many, target, { maxBytes: 1 << 20, maxFiles: 4 }), /more than 4 files/);
  });

  it('rejects bytes that are neither zip nor tar.gz, and empty bundles', async () => {
    await expectInvalid(unpackBundle(text('hello world'), target), /neither a zip nor a tar.gz/);
    await expectInvalid(unpackBundle(zipSync({ 'empty/': new Uint8Array(0) }), target), /no files/);
    await expectInvalid(unpackBundle(Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(40)]), target), /corrupt/);
  });
});

describe('safeRelativePath', () => {
  it('normalises harmless names and refuses escapes', () => {
    expect(safeRelativePath('./a//b/./c.js')).toBe('a/b/c.js');
    expect(safeRelativePath('./')).toBeUndefined();
    expect(() => safeRelativePath('a\\..\\..\\b')).toThrow(/escapes/);
    expect(() => safeRelativePath('C:/x')).toThrow(/absolute/);
  });
});
