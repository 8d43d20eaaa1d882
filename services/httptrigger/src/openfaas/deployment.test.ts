import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { create, FunctionConfigSchema } from '@faas/protocol';
import { configFromDeployment, parseDeployment, resolveImage, splitNamespace, statusOf } from './deployment.js';
import { placeholderBundle } from './placeholder-bundle.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('OpenFaaS deployments', () => {
  it('resolves images to a runtime and code, or to a program on the default root filesystem', () => {
    expect(resolveImage(`python3@${DIGEST}`, '')).toEqual({ runtime: 'python3', codeDigest: DIGEST });
    expect(resolveImage(DIGEST, './run.sh')).toEqual({ runtime: 'exec', codeDigest: DIGEST });
    expect(resolveImage('ghcr.io/openfaas/alpine:latest', 'cat')).toMatchObject({ runtime: 'exec', codeDigest: undefined, note: expect.stringContaining('default base root filesystem') });
    expect(() => resolveImage('ghcr.io/openfaas/alpine:latest', '')).toThrow(/envProcess/);
    expect(() => resolveImage(DIGEST, '')).toThrow(/envProcess/);
    expect(() => resolveImage(`cobol@${DIGEST}`, '')).toThrow(/unknown runtime/);
  });

  it('takes faas-cli\'s document (nulls for empty maps) and shows it back without empty fields', () => {
    const doc = parseDeployment({ service: 'fn', image: 'ghcr.io/x/y:1', envProcess: 'cat', labels: null, annotations: { a: 'b' }, secrets: ['k'], limits: { memory: '256Mi' } });
    const config = configFromDeployment(doc, resolveImage(doc.image, 'cat'), DIGEST);
    expect(config).toMatchObject({ name: 'fn', runtime: 'exec', handler: 'cat', codeDigest: DIGEST, image: 'ghcr.io/x/y:1', secrets: ['k'], labels: {}, annotations: { a: 'b' }, memoryMb: 256 });
    const status = statusOf(create(FunctionConfigSchema, { ...config, createdAtMs: 1_700_000_000_000n }));
    expect(status).toMatchObject({ name: 'fn', image: 'ghcr.io/x/y:1', namespace: 'openfaas-fn', envProcess: 'cat', secrets: ['k'], annotations: { a: 'b' }, availableReplicas: 1, createdAt: '2023-11-14T22:13:20.000Z' });
    expect(JSON.parse(JSON.stringify(status))).not.toHaveProperty('labels');
    expect(JSON.parse(JSON.stringify(status))).not.toHaveProperty('envVars');
    expect(() => parseDeployment({ image: 'x' })).toThrow(/service/);
    expect(() => configFromDeployment({ ...doc, namespace: 'elsewhere' }, resolveImage(doc.image, 'cat'), DIGEST)).toThrow(/namespace/);
  });

  it('reads name.namespace for our one namespace only', () => {
    expect(splitNamespace('fn')).toBe('fn');
    expect(splitNamespace('fn.openfaas-fn')).toBe('fn');
    expect(() => splitNamespace('fn.other')).toThrow(/namespace/);
    expect(splitNamespace('fn.openfaas-fn:2')).toBe('fn:2');
    expect(splitNamespace('fn:a.b')).toBe('fn:a.b');
  });

  it('writes a placeholder bundle that is a valid tar.gz of one file', () => {
    const tar = gunzipSync(placeholderBundle());
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(0, 10).toString()).toBe('README.txt');
    const size = parseInt(tar.subarray(124, 135).toString(), 8);
    expect(tar.subarray(512, 512 + size).toString()).toMatch(/default base root filesystem/);
    // The checksum covers the header with its own field read as spaces.
    const header = Buffer.from(tar.subarray(0, 512));
    const stored = parseInt(header.subarray(148, 154).toString(), 8);
    header.fill(' ', 148, 156);
    expect(header.reduce((sum, byte) => sum + byte, 0)).toBe(stored);
  });
});
