import { describe, expect, it } from 'vitest';
import { create, FunctionConfigSchema, type MessageInitShape } from '@faas/protocol';
import { PlatformError } from '@faas/errors';
import { normaliseFunctionConfig } from './function-validation.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function config(overrides: MessageInitShape<typeof FunctionConfigSchema> = {}) {
  return create(FunctionConfigSchema, { name: 'hello', runtime: 'nodejs', handler: 'index.handler', codeDigest: DIGEST, ...overrides });
}

function failure(overrides: MessageInitShape<typeof FunctionConfigSchema>): PlatformError {
  try {
    normaliseFunctionConfig(config(overrides));
  } catch (error) {
    if (error instanceof PlatformError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(overrides)}`);
}

describe('normaliseFunctionConfig', () => {
  it('fills the documented defaults and drops caller-set version and timestamps', () => {
    const result = normaliseFunctionConfig(config({ version: 7n, createdAtMs: 5n, updatedAtMs: 6n }));
    expect(result.memoryMb).toBe(128);
    expect(result.timeoutSeconds).toBe(30);
    expect(result.maxConcurrency).toBe(10);
    expect(result.idleTimeoutSeconds).toBe(300);
    expect(result.reservedConcurrency).toBe(0);
    expect(result.version).toBe(0n);
    expect(result.createdAtMs).toBe(0n);
    expect(result.updatedAtMs).toBe(0n);
  });

  it('keeps valid explicit values at the edges of each range', () => {
    const low = normaliseFunctionConfig(config({ memoryMb: 64, timeoutSeconds: 1, maxConcurrency: 1 }));
    expect([low.memoryMb, low.timeoutSeconds, low.maxConcurrency]).toEqual([64, 1, 1]);
    const high = normaliseFunctionConfig(config({ memoryMb: 10240, timeoutSeconds: 900, maxConcurrency: 1000 }));
    expect([high.memoryMb, high.timeoutSeconds, high.maxConcurrency]).toEqual([10240, 900, 1000]);
  });

  it('sizes /tmp from 1 MiB up to the function\'s memory, 64 MiB by default', () => {
    expect(normaliseFunctionConfig(config()).tmpSizeMb).toBe(64);
    expect(normaliseFunctionConfig(config({ memoryMb: 256, tmpSizeMb: 256 })).tmpSizeMb).toBe(256);
    const tooBig = failure({ memoryMb: 128, tmpSizeMb: 129 });
    expect(tooBig.code).toBe('invalid_function_config');
    expect(tooBig.message).toContain('tmp_size_mb');
  });

  it.each(['Hello', '1abc', '-a', 'a_b', '', 'a'.repeat(64), 'é'])('rejects the name %j as invalid_function_name', (name) => {
    expect(failure({ name }).code).toBe('invalid_function_name');
  });

  it('accepts names up to 63 characters', () => {
    expect(normaliseFunctionConfig(config({ name: `a${'-9'.repeat(31)}` })).name).toHaveLength(63);
  });

  it.each([
    [{ runtime: 'ruby' }, 'runtime'],
    [{ runtime: '' }, 'runtime'],
    [{ memoryMb: 63 }, 'memory_mb'],
    [{ memoryMb: 10241 }, 'memory_mb'],
    [{ timeoutSeconds: 901 }, 'timeout_seconds'],
    [{ maxConcurrency: 1001 }, 'max_concurrency'],
    [{ idleTimeoutSeconds: 86_401 }, 'idle_timeout_seconds'],
    [{ reservedConcurrency: 1001 }, 'reserved_concurrency'],
    [{ maxConcurrency: 2, reservedConcurrency: 3 }, 'reserved_concurrency'],
    [{ codeDigest: '' }, 'code_digest'],
    [{ codeDigest: `sha256:${'A'.repeat(64)}` }, 'code_digest'],
    [{ codeDigest: `md5:${'a'.repeat(32)}` }, 'code_digest'],
    [{ handler: '' }, 'handler'],
    [{ handler: 'index' }, 'handler'],
    [{ handler: '../secret.handler' }, 'handler'],
    [{ handler: '/etc/passwd.x' }, 'handler'],
    [{ handler: 'index.1handler' }, 'handler'],
    [{ runtime: 'exec', handler: '' }, 'handler'],
    [{ runtime: 'exec', handler: 'run\nrm -rf /' }, 'handler'],
    [{ environment: { '1BAD': 'x' } }, 'environment key'],
    [{ environment: { 'A-B': 'x' } }, 'environment key'],
    [{ environment: { FAAS_TOKEN: 'x' } }, 'FAAS_'],
    [{ environment: { BIG: 'x'.repeat(4097) } }, 'environment value of BIG'],
    [{ environment: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`K${i}`, 'x'.repeat(4000)])) }, 'in total'],
  ])('rejects %j as invalid_function_config naming %s', (overrides, field) => {
    const error = failure(overrides as MessageInitShape<typeof FunctionConfigSchema>);
    expect(error.code).toBe('invalid_function_config');
    expect(error.message).toContain(field);
  });

  it('accepts module handlers with relative paths and command handlers for exec', () => {
    expect(normaliseFunctionConfig(config({ handler: 'src/app.main' })).handler).toBe('src/app.main');
    expect(normaliseFunctionConfig(config({ runtime: 'python3', handler: 'pkg.module.handle' })).handler).toBe('pkg.module.handle');
    expect(normaliseFunctionConfig(config({ runtime: 'exec', handler: './bin/run --fast' })).runtime).toBe('exec');
    expect(normaliseFunctionConfig(config({ runtime: 'http', handler: 'node server.js' })).runtime).toBe('http');
  });

  it('accepts custom:<name> runtimes with any handler and refuses malformed ones', () => {
    expect(normaliseFunctionConfig(config({ runtime: 'custom:my-rt', handler: 'greeting.txt' })).runtime).toBe('custom:my-rt');
    expect(failure({ runtime: 'custom:', handler: 'x' }).code).toBe('invalid_function_config');
    expect(failure({ runtime: 'custom:Bad_Name', handler: 'x' }).code).toBe('invalid_function_config');
    expect(failure({ runtime: 'ruby', handler: 'x' }).code).toBe('invalid_function_config');
  });

  it('accepts environment values up to the limits', () => {
    const environment = { GREETING: 'x'.repeat(4096), _under: '' };
    expect(normaliseFunctionConfig(config({ environment })).environment).toEqual(environment);
  });
});
