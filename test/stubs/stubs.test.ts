// stubs as its own process against a real redis-server: code uploads,
// function registry, and what happens when Redis goes away and comes back.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';

import { Health, HealthCheckResponse_ServingStatus, Stubs, createClient, type MessageInitShape, type FunctionConfigSchema } from '@faas/protocol';
import { freePort, startRedis, startService, type ManagedProcess, type RunningService } from '@faas/launcher';
import { tarGzBundle, zipBundle } from '../support/bundles.js';
import { platformError } from '../support/errors.js';

const PREFIX = 'stubs-test:';
const MAX_CODE_MB = 1;
const connectStubs = (address: string) => createClient(Stubs, address, { peerName: 'stubs', defaultTimeoutMs: 10_000 });
const connectHealth = (address: string) => createClient(Health, address, { defaultTimeoutMs: 2_000 });

let workDir: string;
let dataDir: string;
let redisPort: number;
let redisProcess: ManagedProcess;
let redis: Redis;
let service: RunningService;
let stubs: ReturnType<typeof connectStubs>;
let health: ReturnType<typeof connectHealth>;

async function* chunksOf(bytes: Uint8Array, size = 64 * 1024) {
  for (let offset = 0; offset < bytes.length; offset += size) yield { chunk: bytes.subarray(offset, offset + size) };
}

async function eventually<T>(probe: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const bundle = zipBundle({ 'index.js': 'exports.handler = async (event) => ({ hello: event });\n' });
const digestOfBundle = `sha256:${createHash('sha256').update(bundle).digest('hex')}`;

function fn(overrides: MessageInitShape<typeof FunctionConfigSchema> = {}): MessageInitShape<typeof FunctionConfigSchema> {
  return { name: 'hello', runtime: 'nodejs', handler: 'index.handler', codeDigest: digestOfBundle, ...overrides };
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-stubs-test-'));
  dataDir = path.join(workDir, 'data');
  redisPort = await freePort();
  redisProcess = await startRedis(redisPort, path.join(workDir, 'redis'));
  redis = new Redis(redisPort, '127.0.0.1', { lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  service = await startService('stubs', {
    STUBS_LISTEN: '127.0.0.1:0',
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_KEY_PREFIX: PREFIX,
    STUBS_DATA_DIR: dataDir,
    STUBS_MAX_CODE_MB: String(MAX_CODE_MB),
    FAAS_INTERNAL_TOKEN: '',
    LOG_LEVEL: 'info',
  });
  stubs = connectStubs(service.address);
  health = connectHealth(service.address);
});

afterAll(async () => {
  stubs?.close();
  health?.close();
  redis?.disconnect();
  const exit = await service?.process.stop();
  await redisProcess?.stop();
  rmSync(workDir, { recursive: true, force: true });
  // A graceful shutdown is part of the contract.
  expect(exit).toMatchObject({ code: 0 });
});

describe('code bundles', () => {
  it('stores the same bytes once and reports whether they were new', async () => {
    const first = await stubs.putCode(chunksOf(bundle, 100));
    expect(first).toMatchObject({ digest: digestOfBundle, size: BigInt(bundle.length), created: true });
    const second = await stubs.putCode(chunksOf(bundle));
    expect(second).toMatchObject({ digest: digestOfBundle, size: BigInt(bundle.length), created: false });

    expect(readdirSync(path.join(dataDir, 'blobs', 'sha256'))).toEqual([digestOfBundle.slice('sha256:'.length)]);
    expect(readdirSync(path.join(dataDir, 'tmp'))).toEqual([]);
    const record = await redis.hgetall(`${PREFIX}stubs:code:${digestOfBundle}`);
    expect(record.size).toBe(String(bundle.length));
    expect(Number(record.createdAtMs)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('streams a stored bundle back byte for byte', async () => {
    const big = tarGzBundle({ 'index.js': 'x'.repeat(10), 'data.bin': createHash('sha512').update('seed').digest('hex').repeat(6000) });
    const { digest } = await stubs.putCode(chunksOf(big));
    const parts: Uint8Array[] = [];
    for await (const { chunk } of stubs.getCode({ digest })) parts.push(chunk);
    expect(Buffer.concat(parts).equals(Buffer.from(big))).toBe(true);
  });

  it('refuses empty bundles and bytes that are not zip or tar.gz', async () => {
    expect((await platformError(stubs.putCode(chunksOf(new Uint8Array())))).code).toBe('invalid_code_bundle');
    expect((await platformError(stubs.putCode(chunksOf(new TextEncoder().encode('console.log(1)'))))).code).toBe('invalid_code_bundle');
  });

  it('refuses bundles over STUBS_MAX_CODE_MB and keeps no trace of them', async () => {
    const tooBig = new Uint8Array(MAX_CODE_MB * 1024 * 1024 + 1);
    tooBig.set([0x50, 0x4b, 0x03, 0x04]);
    expect((await platformError(stubs.putCode(chunksOf(tooBig)))).code).toBe('payload_too_large');
    const digest = `sha256:${createHash('sha256').update(tooBig).digest('hex')}`;
    expect((await platformError(collect(stubs.getCode({ digest })))).code).toBe('code_not_found');
    expect(readdirSync(path.join(dataDir, 'tmp'))).toEqual([]);
  });

  it('answers code_not_found for an unknown digest and bad_request for a malformed one', async () => {
    expect((await platformError(collect(stubs.getCode({ digest: `sha256:${'0'.repeat(64)}` })))).code).toBe('code_not_found');
    expect((await platformError(collect(stubs.getCode({ digest: 'sha256:xyz' })))).code).toBe('bad_request');
  });
});

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

describe('functions', () => {
  beforeAll(async () => {
    await stubs.putCode(chunksOf(bundle));
  });

  it('creates a function with defaults, then versions every update', async () => {
    const created = await stubs.putFunction({ function: fn({ version: 99n }) });
    expect(created.created).toBe(true);
    expect(created.function).toMatchObject({ name: 'hello', version: 1n, memoryMb: 128, timeoutSeconds: 30, maxConcurrency: 10 });
    const createdAt = created.function!.createdAtMs;
    expect(createdAt).toBeGreaterThan(0n);

    const updated = await stubs.putFunction({ function: fn({ memoryMb: 256, environment: { GREETING: 'hi' } }) });
    expect(updated.created).toBe(false);
    expect(updated.function).toMatchObject({ version: 2n, memoryMb: 256, createdAtMs: createdAt, environment: { GREETING: 'hi' } });
    expect(updated.function!.updatedAtMs).toBeGreaterThanOrEqual(createdAt);

    const got = await stubs.getFunction({ name: 'hello' });
    expect(got.function).toEqual(updated.function);
    // Stored as protobuf JSON, as the design says.
    expect(JSON.parse((await redis.get(`${PREFIX}stubs:function:hello`))!)).toMatchObject({ name: 'hello', version: '2', memoryMb: 256 });
    expect(await redis.sismember(`${PREFIX}stubs:functions`, 'hello')).toBe(1);
  });

  it('gives concurrent updates of one function distinct versions', async () => {
    await stubs.putFunction({ function: fn({ name: 'racy' }) });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => stubs.putFunction({ function: fn({ name: 'racy', memoryMb: 128 + i }) })));
    const versions = results.map((r) => Number(r.function!.version)).sort((a, b) => a - b);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await stubs.getFunction({ name: 'racy' })).function!.version).toBe(9n);
  });

  it.each([
    [{ name: 'Bad_Name' }, 'invalid_function_name', 'name'],
    [{ runtime: 'cobol' }, 'invalid_function_config', 'runtime'],
    [{ memoryMb: 32 }, 'invalid_function_config', 'memory_mb'],
    [{ timeoutSeconds: 1000 }, 'invalid_function_config', 'timeout_seconds'],
    [{ maxConcurrency: 5000 }, 'invalid_function_config', 'max_concurrency'],
    [{ handler: '' }, 'invalid_function_config', 'handler'],
    [{ environment: { FAAS_SECRET: 'x' } }, 'invalid_function_config', 'FAAS_'],
    [{ codeDigest: 'latest' }, 'invalid_function_config', 'code_digest'],
    [{ codeDigest: `sha256:${'1'.repeat(64)}` }, 'code_not_found', 'sha256:'],
  ])('refuses %j with %s', async (overrides, code, mentioned) => {
    const error = await platformError(stubs.putFunction({ function: fn({ name: 'refused', ...overrides }) }));
    expect(error.code).toBe(code);
    expect(error.message).toContain(mentioned);
    expect((await platformError(stubs.getFunction({ name: 'refused' }))).code).toBe('function_not_found');
  });

  it('lists functions sorted by name and deletes them', async () => {
    await stubs.putFunction({ function: fn({ name: 'zeta' }) });
    await stubs.putFunction({ function: fn({ name: 'alpha' }) });
    const names = (await stubs.listFunctions({})).functions.map((f) => f.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['alpha', 'hello', 'zeta']));

    await stubs.deleteFunction({ name: 'zeta' });
    expect((await stubs.listFunctions({})).functions.map((f) => f.name)).not.toContain('zeta');
    expect((await platformError(stubs.getFunction({ name: 'zeta' }))).code).toBe('function_not_found');
    expect((await platformError(stubs.deleteFunction({ name: 'zeta' }))).code).toBe('function_not_found');
    // Deleting and re-creating starts the versions again.
    expect((await stubs.putFunction({ function: fn({ name: 'zeta' }) })).function!.version).toBe(1n);
  });
});

describe('versions and aliases', () => {
  beforeAll(async () => {
    await stubs.putCode(chunksOf(bundle));
  });

  /** Every change notice stubs publishes while `run` runs. */
  async function noticesOf(run: () => Promise<unknown>): Promise<string[]> {
    const listener = new Redis(redisPort, '127.0.0.1');
    const notices: string[] = [];
    listener.on('message', (_channel, message: string) => notices.push(message));
    await listener.subscribe(`${PREFIX}stubs:changes`);
    try {
      await run();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return notices;
    } finally {
      listener.disconnect();
    }
  }

  it('publishes $LATEST as immutable numbered versions, once per revision', async () => {
    await stubs.putFunction({ function: fn({ name: 'versioned', memoryMb: 128 }) });
    const first = await stubs.publishVersion({ name: 'versioned' });
    expect(first).toMatchObject({ created: true, function: { name: 'versioned', publishedVersion: 1, version: 1n, memoryMb: 128 } });
    // Nothing changed since: the same version again, not a new one.
    expect(await stubs.publishVersion({ name: 'versioned' })).toMatchObject({ created: false, function: { publishedVersion: 1 } });

    await stubs.putFunction({ function: fn({ name: 'versioned', memoryMb: 256 }) });
    expect((await stubs.publishVersion({ name: 'versioned' })).function).toMatchObject({ publishedVersion: 2, version: 2n, memoryMb: 256 });
    await stubs.putFunction({ function: fn({ name: 'versioned', memoryMb: 512 }) });

    // Version 1 keeps what it had, whatever $LATEST became.
    expect((await stubs.getFunction({ name: 'versioned', qualifier: '1' })).function).toMatchObject({ publishedVersion: 1, memoryMb: 128 });
    expect((await stubs.getFunction({ name: 'versioned', qualifier: '$LATEST' })).function).toMatchObject({ publishedVersion: 0, memoryMb: 512 });
    expect((await stubs.listVersions({ name: 'versioned' })).versions.map((v) => [v.publishedVersion, v.memoryMb])).toEqual([
      [1, 128],
      [2, 256],
    ]);
    expect((await platformError(stubs.getFunction({ name: 'versioned', qualifier: '7' }))).code).toBe('version_not_found');
    expect((await platformError(stubs.getFunction({ name: 'unknown', qualifier: '1' }))).code).toBe('function_not_found');
    expect((await platformError(stubs.getFunction({ name: 'versioned', qualifier: '0' }))).code).toBe('invalid_qualifier');
    expect((await platformError(stubs.publishVersion({ name: 'unknown' }))).code).toBe('function_not_found');
  });

  it('gives concurrent publishes of one revision one version', async () => {
    await stubs.putFunction({ function: fn({ name: 'published-once' }) });
    const results = await Promise.all(Array.from({ length: 8 }, () => stubs.publishVersion({ name: 'published-once' })));
    expect(new Set(results.map((r) => r.function!.publishedVersion))).toEqual(new Set([1]));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('resolves an alias to its versions and refuses aliases that make no sense', async () => {
    await stubs.putFunction({ function: fn({ name: 'aliased' }) });
    await stubs.publishVersion({ name: 'aliased' });
    await stubs.putFunction({ function: fn({ name: 'aliased', memoryMb: 256 }) });
    await stubs.publishVersion({ name: 'aliased' });

    const put = await stubs.putAlias({ functionName: 'aliased', alias: { name: 'live', functionVersion: 1, additionalVersion: 2, additionalWeight: 0.25 } });
    expect(put).toMatchObject({ created: true, alias: { name: 'live', functionVersion: 1, additionalVersion: 2, additionalWeight: 0.25 } });
    const resolved = await stubs.getFunction({ name: 'aliased', qualifier: 'live' });
    expect(resolved.alias).toMatchObject({ name: 'live', additionalWeight: 0.25 });
    expect(resolved.function).toMatchObject({ publishedVersion: 1, memoryMb: 128 });
    expect(resolved.additionalFunction).toMatchObject({ publishedVersion: 2, memoryMb: 256 });

    const repointed = await stubs.putAlias({ functionName: 'aliased', alias: { name: 'live', functionVersion: 2 } });
    expect(repointed).toMatchObject({ created: false, alias: { functionVersion: 2, additionalVersion: 0, additionalWeight: 0 } });
    expect(repointed.alias!.createdAtMs).toBe(put.alias!.createdAtMs);
    expect((await stubs.getFunction({ name: 'aliased', qualifier: 'live' })).additionalFunction).toBeUndefined();
    expect((await stubs.listAliases({ functionName: 'aliased' })).aliases.map((a) => a.name)).toEqual(['live']);

    for (const [alias, code] of [
      [{ name: 'x', functionVersion: 9 }, 'invalid_alias'],
      [{ name: 'x', functionVersion: 1, additionalVersion: 9, additionalWeight: 0.5 }, 'invalid_alias'],
      [{ name: 'x', functionVersion: 1, additionalVersion: 2, additionalWeight: 1 }, 'invalid_alias'],
      [{ name: 'x', functionVersion: 1, additionalVersion: 1, additionalWeight: 0.5 }, 'invalid_alias'],
      [{ name: '7', functionVersion: 1 }, 'invalid_qualifier'],
      [{ name: 'x', functionVersion: 0 }, 'invalid_alias'],
    ] as const) {
      expect((await platformError(stubs.putAlias({ functionName: 'aliased', alias }))).code, JSON.stringify(alias)).toBe(code);
    }
    expect((await platformError(stubs.putAlias({ functionName: 'unknown', alias: { name: 'x', functionVersion: 1 } }))).code).toBe('function_not_found');
    expect((await platformError(stubs.getFunction({ name: 'aliased', qualifier: 'nope' }))).code).toBe('alias_not_found');
  });

  it('refuses to delete a version an alias points at, and tells every cache what a delete removed', async () => {
    await stubs.putFunction({ function: fn({ name: 'removed' }) });
    await stubs.publishVersion({ name: 'removed' });
    await stubs.putFunction({ function: fn({ name: 'removed', memoryMb: 256 }) });
    await stubs.publishVersion({ name: 'removed' });
    await stubs.putAlias({ functionName: 'removed', alias: { name: 'canary', functionVersion: 1, additionalVersion: 2, additionalWeight: 0.1 } });

    expect((await platformError(stubs.deleteVersion({ name: 'removed', version: 2 }))).code).toBe('version_in_use');
    await stubs.putAlias({ functionName: 'removed', alias: { name: 'canary', functionVersion: 1 } });
    expect(await noticesOf(() => stubs.deleteVersion({ name: 'removed', version: 2 }))).toEqual(['removed:2']);
    expect((await platformError(stubs.getFunction({ name: 'removed', qualifier: '2' }))).code).toBe('version_not_found');
    expect((await platformError(stubs.deleteVersion({ name: 'removed', version: 2 }))).code).toBe('version_not_found');
    // Its revision may be published again, under a new number.
    await stubs.putFunction({ function: fn({ name: 'removed', memoryMb: 384 }) });
    expect((await stubs.publishVersion({ name: 'removed' })).function!.publishedVersion).toBe(3);

    const notices = await noticesOf(() => stubs.deleteFunction({ name: 'removed' }));
    expect(notices.sort()).toEqual(['removed', 'removed:1', 'removed:3', 'removed:canary'].sort());
    expect((await platformError(stubs.getFunction({ name: 'removed', qualifier: '1' }))).code).toBe('function_not_found');
    expect((await platformError(stubs.getFunction({ name: 'removed', qualifier: 'canary' }))).code).toBe('function_not_found');
    expect(await redis.exists(`${PREFIX}stubs:function-versions:removed`, `${PREFIX}stubs:function-aliases:removed`, `${PREFIX}stubs:function-published:removed`)).toBe(0);
  });

  it('deletes an alias with its notice', async () => {
    await stubs.putFunction({ function: fn({ name: 'short-lived' }) });
    await stubs.publishVersion({ name: 'short-lived' });
    await stubs.putAlias({ functionName: 'short-lived', alias: { name: 'live', functionVersion: 1 } });
    expect(await noticesOf(() => stubs.deleteAlias({ functionName: 'short-lived', name: 'live' }))).toEqual(['short-lived:live']);
    expect((await platformError(stubs.getAlias({ functionName: 'short-lived', name: 'live' }))).code).toBe('alias_not_found');
    expect((await platformError(stubs.deleteAlias({ functionName: 'short-lived', name: 'live' }))).code).toBe('alias_not_found');
  });
});

describe('when redis goes away', () => {
  it('answers service_unavailable and reports NOT_SERVING, then recovers when redis is back', async () => {
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await redisProcess.stop();

    const started = Date.now();
    expect((await platformError(stubs.getFunction({ name: 'hello' }))).code).toBe('service_unavailable');
    expect((await platformError(stubs.putFunction({ function: fn() }))).code).toBe('service_unavailable');
    expect((await platformError(stubs.listFunctions({}))).code).toBe('service_unavailable');
    expect(Date.now() - started).toBeLessThan(5_000);
    await eventually(async () => expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING));

    // The data was not persisted (--save ''), so recovery is seen as an empty registry.
    redisProcess = await startRedis(redisPort, path.join(workDir, 'redis'));
    await eventually(() => stubs.listFunctions({}));
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    // The blob outlived Redis; uploading it again re-creates its index record.
    expect((await stubs.putCode(chunksOf(bundle))).created).toBe(false);
    expect((await stubs.putFunction({ function: fn() })).function!.version).toBe(1n);
  });
});
