import { describe, expect, it } from 'vitest';
import { gzipSync, zipSync } from 'fflate';
import {
  FUNCLET_ID,
  MEMORY_MB,
  codeDigestHex,
  customRuntimeName,
  handlerProblem,
  isCodeDigest,
  isWithin,
  runtimeFamily,
  sniffBundleFormat,
  withDefault,
} from './function-rules.js';

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

describe('runtimes', () => {
  it('maps every custom:<name> to the one runtime funclets announce for them', () => {
    expect(runtimeFamily('custom:greeter')).toBe('custom');
    expect(runtimeFamily('nodejs')).toBe('nodejs');
    // A bare prefix names no runtime: nothing to run it with.
    expect(runtimeFamily('custom:')).toBe('custom:');
    expect(customRuntimeName('custom:greeter')).toBe('greeter');
    expect(customRuntimeName('python3')).toBeUndefined();
  });
});

describe('handlerProblem', () => {
  it('wants file.export inside the bundle for module runtimes', () => {
    expect(handlerProblem('nodejs', 'src/app.main')).toBeUndefined();
    expect(handlerProblem('python3', 'pkg.module.handle')).toBeUndefined();
    for (const handler of ['index', '../secret.handler', '/etc/passwd.x', 'index.1handler', 'a b.handler']) {
      expect(handlerProblem('nodejs', handler), handler).toContain('file.export');
    }
  });

  it('takes any one-line command for the other runtimes, but never a blank one', () => {
    expect(handlerProblem('exec', './bin/run --fast')).toBeUndefined();
    expect(handlerProblem('custom:greeter', 'greeting.txt')).toBeUndefined();
    expect(handlerProblem('http', '   ')).toBe('is required');
    expect(handlerProblem('exec', 'run\nrm -rf /')).toContain('control characters');
    expect(handlerProblem('exec', 'x'.repeat(1025))).toContain('at most 1024');
  });
});

describe('ranges, digests and funclet ids', () => {
  it('treats 0 as the default and checks the bounds', () => {
    expect(withDefault(0, MEMORY_MB)).toBe(128);
    expect([63, 64, 10240, 10241].map((mb) => isWithin(mb, MEMORY_MB))).toEqual([false, true, true, false]);
  });

  it('reads sha256 digests in lower-case hex only', () => {
    const hex = 'a'.repeat(64);
    expect(codeDigestHex(`sha256:${hex}`)).toBe(hex);
    expect(isCodeDigest(`sha256:${'A'.repeat(64)}`)).toBe(false);
    expect(isCodeDigest(`md5:${'a'.repeat(32)}`)).toBe(false);
  });

  it('keeps funclet ids to what container, cgroup and namespace names allow', () => {
    expect(FUNCLET_ID.test('funclet-1')).toBe(true);
    expect(FUNCLET_ID.test('f'.repeat(40))).toBe(true);
    for (const id of ['', '-a', 'Funclet', 'a_b', 'a.b', 'f'.repeat(41)]) expect(FUNCLET_ID.test(id), id).toBe(false);
  });
});
