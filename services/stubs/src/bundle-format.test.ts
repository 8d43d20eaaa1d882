import { describe, expect, it } from 'vitest';
import { gzipSync, zipSync } from 'fflate';
import { sniffBundleFormat } from './bundle-format.js';

describe('sniffBundleFormat', () => {
  it('recognises real zip and gzip archives', () => {
    expect(sniffBundleFormat(zipSync({ 'index.js': new TextEncoder().encode('x') }))).toBe('zip');
    expect(sniffBundleFormat(gzipSync(new Uint8Array([1, 2, 3])))).toBe('tar.gz');
  });

  it('rejects anything else, including empty and truncated input', () => {
    expect(sniffBundleFormat(new Uint8Array())).toBeUndefined();
    expect(sniffBundleFormat(new TextEncoder().encode('module.exports = 1'))).toBeUndefined();
    expect(sniffBundleFormat(new Uint8Array([0x50, 0x4b, 0x03]))).toBeUndefined();
    // An empty zip starts with the end-of-directory record: no files, not a bundle.
    expect(sniffBundleFormat(new Uint8Array([0x50, 0x4b, 0x05, 0x06]))).toBeUndefined();
  });
});
