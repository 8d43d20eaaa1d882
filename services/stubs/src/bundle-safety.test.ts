import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync, type Zippable } from 'fflate';
import { Header, type HeaderData } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { assertSafeBundle } from './bundle-safety.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bundle-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;
const fileOf = (bytes: Uint8Array) => {
  const file = path.join(dir, `b${count++}`);
  writeFileSync(file, bytes);
  return file;
};
const text = (value: string) => new TextEncoder().encode(value);
/** A zip entry with a unix mode (type and permissions), as zip tools on unix write it. */
const unix = (data: Uint8Array, mode: number): [Uint8Array, { os: number; attrs: number }] => [data, { os: 3, attrs: mode << 16 }];

function tarGz(entries: Array<{ path: string; type?: HeaderData['type']; linkpath?: string; body?: Buffer; size?: number }>): Uint8Array {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.body ?? Buffer.alloc(0);
    const header = new Header({ path: entry.path, type: entry.type ?? 'File', linkpath: entry.linkpath, size: entry.size ?? body.length, mode: 0o644, mtime: new Date(0) });
    const block = Buffer.alloc(512);
    header.encode(block);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const refusal = async (bytes: Uint8Array, limits?: Parameters<typeof assertSafeBundle>[1]) => {
  const error = await assertSafeBundle(fileOf(bytes), limits).then(() => undefined, (failure: { code: string; message: string }) => failure);
  expect(error?.code).toBe('invalid_code_bundle');
  return error!.message;
};

describe('assertSafeBundle', () => {
  it('accepts ordinary bundles, with links that stay inside', async () => {
    const zip = zipSync({ 'index.js': text('x'), lib: { 'a.js': text('y') }, 'node_modules/.bin/tool': unix(text('../tool/cli.js'), 0o120777) } as Zippable);
    await expect(assertSafeBundle(fileOf(zip))).resolves.toBeUndefined();
    await expect(assertSafeBundle(fileOf(tarGz([{ path: 'index.js', body: Buffer.from('x') }, { path: 'bin/run', type: 'SymbolicLink', linkpath: '../index.js' }])))).resolves.toBeUndefined();
  });

  it('refuses zip slip and absolute paths, in zip and tar.gz', async () => {
    expect(await refusal(zipSync({ 'a/../../evil.js': text('x') }))).toMatch(/escapes the bundle with "\.\."/);
    expect(await refusal(zipSync({ '/etc/evil.js': text('x') }))).toMatch(/absolute path/);
    expect(await refusal(tarGz([{ path: '../evil.js', body: Buffer.from('x') }]))).toMatch(/escapes the bundle/);
    expect(await refusal(tarGz([{ path: '/etc/cron.d/evil', body: Buffer.from('x') }]))).toMatch(/absolute path/);
  });

  it('refuses links that point outside the bundle', async () => {
    expect(await refusal(zipSync({ 'passwd': unix(text('/etc/passwd'), 0o120777) } as Zippable))).toMatch(/points at the absolute path "\/etc\/passwd"/);
    expect(await refusal(zipSync({ 'a/up': unix(text('../../x'), 0o120777) } as Zippable))).toMatch(/points outside the bundle/);
    expect(await refusal(tarGz([{ path: 'out', type: 'SymbolicLink', linkpath: '../../../etc' }]))).toMatch(/points outside the bundle/);
    expect(await refusal(tarGz([{ path: 'hard', type: 'Link', linkpath: '/etc/shadow' }]))).toMatch(/absolute path/);
  });

  it('refuses device files, FIFOs and sockets', async () => {
    expect(await refusal(zipSync({ 'null': unix(new Uint8Array(), 0o020666) } as Zippable))).toMatch(/is a character device/);
    expect(await refusal(zipSync({ 'sock': unix(new Uint8Array(), 0o140666) } as Zippable))).toMatch(/is a socket/);
    expect(await refusal(tarGz([{ path: 'sda', type: 'BlockDevice' }]))).toMatch(/is a block device/);
    expect(await refusal(tarGz([{ path: 'pipe', type: 'FIFO' }]))).toMatch(/is a FIFO/);
  });

  it('refuses bombs: by ratio, by total size and by file count', async () => {
    const zeros = new Uint8Array(4 * 1024 * 1024);
    expect(await refusal(zipSync({ 'bomb.bin': zeros }))).toMatch(/inflates \d+ times its packed size \(a zip bomb; at most 200\)/);
    expect(await refusal(tarGz([{ path: 'bomb.bin', body: Buffer.from(zeros) }]))).toMatch(/inflates \d+ times its packed size/);
    const limits = { maxBytes: 1000, maxFiles: 3, maxRatio: 200, minRatioCheckBytes: 1024 * 1024 };
    expect(await refusal(zipSync({ 'a.txt': text('x'.repeat(600)), 'b.txt': text('y'.repeat(600)) }), limits)).toMatch(/unpacks to more than 1000 bytes/);
    expect(await refusal(zipSync({ a: text('1'), b: text('2'), c: text('3'), d: text('4') }), limits)).toMatch(/more than 3 files/);
    // A header declaring more than the limit is refused before its bytes are inflated.
    expect(await refusal(tarGz([{ path: 'huge', size: 10 * 1024 * 1024 * 1024 }]))).toMatch(/unpacks to more than/);
  });
});
