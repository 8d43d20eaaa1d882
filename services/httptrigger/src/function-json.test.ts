import { describe, expect, it } from 'vitest';
import { FunctionConfigSchema, create } from '@faas/protocol';
import { functionFromRequest, functionToJson } from './function-json.js';

const digest = `sha256:${'a'.repeat(64)}`;

describe('functionFromRequest', () => {
  it('maps the body and fills the documented defaults', () => {
    expect(functionFromRequest('echo', { runtime: 'nodejs', handler: 'index.handler', code: { digest } })).toEqual({
      name: 'echo',
      runtime: 'nodejs',
      handler: 'index.handler',
      codeDigest: digest,
      memoryMb: 128,
      timeoutSeconds: 30,
      maxConcurrency: 10,
      concurrencyPerSandbox: 1,
      reservedConcurrency: 0,
      idleTimeoutSeconds: 300,
      tmpSizeMb: 64,
      environment: {},
      secrets: [],
      labels: {},
      annotations: {},
      networkEgress: false,
      auth: '',
    });
    expect(functionFromRequest('echo', { runtime: 'nodejs', handler: 'index.handler', code: { digest }, network: { egress: true } })).toMatchObject({ networkEgress: true });
    expect(functionFromRequest('echo', { runtime: 'nodejs', handler: 'index.handler', code: { digest }, async: { maxAttempts: 3, retryFunctionErrors: true, callbackSecret: 'k'.repeat(16) } })).toMatchObject({
      asyncPolicy: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0, retryFunctionErrors: true },
      callbackSecret: 'k'.repeat(16),
    });
    expect(
      functionFromRequest('echo', {
        runtime: 'nodejs', handler: 'h.x', code: { digest }, memoryMb: 256, timeoutSeconds: 5, maxConcurrency: 2, concurrencyPerSandbox: 8, tmpSizeMb: 32, environment: { A: '1' },
        reservedConcurrency: 1, idleTimeoutSeconds: 60,
      }),
    ).toMatchObject({ memoryMb: 256, timeoutSeconds: 5, maxConcurrency: 2, concurrencyPerSandbox: 8, tmpSizeMb: 32, environment: { A: '1' }, reservedConcurrency: 1, idleTimeoutSeconds: 60 });
  });

  it('names the field that is wrong', () => {
    const base = { runtime: 'nodejs', handler: 'index.handler', code: { digest } };
    expect(() => functionFromRequest('echo', [])).toThrow(/JSON object/);
    expect(() => functionFromRequest('echo', { ...base, runtime: 3 })).toThrow(/"runtime"/);
    expect(() => functionFromRequest('echo', { ...base, code: 'x' })).toThrow(/"code"/);
    expect(() => functionFromRequest('echo', { ...base, code: { digest: 1 } })).toThrow(/"code.digest"/);
    expect(() => functionFromRequest('echo', { ...base, memoryMb: 1.5 })).toThrow(/"memoryMb"/);
    expect(() => functionFromRequest('echo', { ...base, timeoutSeconds: '30' })).toThrow(/"timeoutSeconds"/);
    expect(() => functionFromRequest('echo', { ...base, environment: { A: 1 } })).toThrow(/"environment.A"/);
    expect(() => functionFromRequest('echo', { ...base, memory: 128 })).toThrow(/unknown field "memory"/);
    expect(() => functionFromRequest('echo', { ...base, code: { digest, extra: 1 } })).toThrow(/unknown field "code.extra"/);
    expect(() => functionFromRequest('echo', { ...base, name: 'other' })).toThrow(/differs from the path/);
    expect(() => functionFromRequest('echo', { ...base, network: { egress: 'yes' } })).toThrow(/"network.egress"/);
    expect(() => functionFromRequest('echo', { ...base, network: { ingress: true } })).toThrow(/unknown field "network.ingress"/);
    expect(() => functionFromRequest('echo', { ...base, async: { maxAttempts: -1 } })).toThrow(/"async.maxAttempts"/);
    expect(() => functionFromRequest('echo', { ...base, async: { retries: 3 } })).toThrow(/unknown field "async.retries"/);
  });

  it('accepts a GET answer sent back, ignoring what the server assigns', () => {
    const body = { name: 'echo', runtime: 'nodejs', handler: 'i.h', code: { digest }, version: 4, createdAt: 'x', updatedAt: 'y' };
    expect(functionFromRequest('echo', body)).toMatchObject({ name: 'echo', runtime: 'nodejs' });
  });
});

describe('functionToJson', () => {
  it('shows timestamps as ISO strings and the version as a number', () => {
    const config = create(FunctionConfigSchema, {
      name: 'echo', runtime: 'nodejs', handler: 'index.handler', codeDigest: digest, memoryMb: 128, timeoutSeconds: 30,
      maxConcurrency: 10, concurrencyPerSandbox: 4, tmpSizeMb: 64, environment: { A: '1' }, version: 3n, createdAtMs: 1_700_000_000_000n, updatedAtMs: 1_700_000_001_000n,
    });
    expect(functionToJson(config)).toEqual({
      name: 'echo', runtime: 'nodejs', handler: 'index.handler', code: { digest }, memoryMb: 128, timeoutSeconds: 30,
      environment: { A: '1' }, maxConcurrency: 10, concurrencyPerSandbox: 4, reservedConcurrency: 0, idleTimeoutSeconds: 300, tmpSizeMb: 64, network: { egress: false },
      secrets: [], labels: {}, annotations: {}, auth: 'public',
      async: { maxAttempts: 0, baseDelayMs: 0, maxDelayMs: 0, retryFunctionErrors: false, callbackSecretSet: false }, version: 3, qualifier: '$LATEST',
      createdAt: '2023-11-14T22:13:20.000Z', updatedAt: '2023-11-14T22:13:21.000Z',
    });
  });
});
