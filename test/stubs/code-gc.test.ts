// Code bundles are collected: stubs (its own process, real Redis) with a
// short STUBS_CODE_RETENTION deletes bundles nothing references once their
// last use is older than the retention, keeps the ones functions, their
// published versions and custom runtimes reference, and never lets a deploy end up pointing at a
// bundle it deleted, however the two race.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Stubs, createClient } from '@faas/protocol';
import { freePort, startRedis, startService, type ManagedProcess, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { platformError } from '../support/errors.js';
import { eventually } from '../support/http.js';

const PREFIX = 'code-gc-test:';
const RETENTION_MS = 2_000;

let workDir: string;
let redisProcess: ManagedProcess;
let redis: Redis;
let service: RunningService;
let stubs: ReturnType<typeof createClient<typeof Stubs.method>>;
let uploads = 0;

/** A bundle of its own (distinct bytes, so a distinct digest). */
async function upload(files: Record<string, string> = {}): Promise<string> {
  const bytes = zipBundle({ 'index.js': `exports.handler = async () => ${++uploads};\n`, ...files });
  const { digest } = await stubs.putCode((async function* () {
    yield { chunk: bytes };
  })());
  return digest;
}

const blobFile = (digest: string) => path.join(workDir, 'data', 'blobs', 'sha256', digest.slice('sha256:'.length));

async function readable(digest: string): Promise<boolean> {
  try {
    for await (const part of stubs.getCode({ digest })) void part;
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the collector deleted `digest` (index entry and file). */
const collected = (digest: string) =>
  eventually(async () => ((await readable(digest)) || existsSync(blobFile(digest)) ? undefined : true), 20 * RETENTION_MS, `${digest} to be collected`);

const deploy = (name: string, codeDigest: string) => stubs.putFunction({ function: { name, runtime: 'nodejs', handler: 'index.handler', codeDigest } });

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-code-gc-'));
  const redisPort = await freePort();
  redisProcess = await startRedis(redisPort, path.join(workDir, 'redis'));
  redis = new Redis(redisPort, '127.0.0.1');
  service = await startService('stubs', {
    STUBS_LISTEN: '127.0.0.1:0',
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_KEY_PREFIX: PREFIX,
    STUBS_DATA_DIR: path.join(workDir, 'data'),
    STUBS_CODE_RETENTION: `${RETENTION_MS}ms`,
    LOG_LEVEL: 'info',
  });
  stubs = createClient(Stubs, service.address, { peerName: 'stubs', defaultTimeoutMs: 10_000 });
});

afterAll(async () => {
  stubs?.close();
  redis?.disconnect();
  await service?.process.stop();
  await redisProcess?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('code collection', () => {
  it('deletes a bundle nothing references after the retention, and keeps what a function or a runtime uses', async () => {
    const deployed = await upload();
    const runtimeBundle = await upload({ bootstrap: '#!/bin/sh\n', 'runtime.json': '{"name": "kept", "description": "a runtime"}' });
    await deploy('keeps-its-code', deployed);
    await stubs.putRuntime({ runtime: { name: 'kept', codeDigest: runtimeBundle, description: 'a runtime' } });
    // Uploaded last: once it is collected, the two above are past the retention too.
    const unused = await upload();
    expect(await readable(unused)).toBe(true);

    await collected(unused);
    expect(await readable(deployed)).toBe(true);
    expect(await readable(runtimeBundle)).toBe(true);
    expect(existsSync(blobFile(deployed))).toBe(true);
    expect((await platformError(deploy('too-late', unused))).code).toBe('code_not_found');
  });

  it('starts the retention when the last reference goes: on update and on delete', async () => {
    const first = await upload();
    const second = await upload();
    const third = await upload();
    await deploy('mover', first);
    await deploy('leaver', third);
    const usedAt = async (digest: string) => Number(await redis.hget(`${PREFIX}stubs:code:${digest}`, 'usedAtMs'));
    const [firstBefore, thirdBefore] = [await usedAt(first), await usedAt(third)];
    const [seconds, micros] = (await redis.time()).map(Number) as [number, number];
    const movedAt = seconds * 1000 + Math.floor(micros / 1000);

    await deploy('mover', second);
    await stubs.deleteFunction({ name: 'leaver' });
    expect(await usedAt(first)).toBeGreaterThanOrEqual(movedAt);
    expect(await usedAt(first)).toBeGreaterThan(firstBefore);
    expect(await usedAt(third)).toBeGreaterThanOrEqual(movedAt);
    expect(await usedAt(third)).toBeGreaterThan(thirdBefore);

    await collected(first);
    await collected(third);
    expect(await readable(second)).toBe(true);
  });

  it("keeps what a published version references after $LATEST moved on, and starts its retention when the version or the function goes", async () => {
    const [first, second, latest] = [await upload(), await upload(), await upload()];
    await deploy('versioned', first);
    expect((await stubs.publishVersion({ name: 'versioned' })).function?.publishedVersion).toBe(1);
    await deploy('versioned', second);
    expect((await stubs.publishVersion({ name: 'versioned' })).function?.publishedVersion).toBe(2);
    await deploy('versioned', latest);
    // A marker uploaded now and collected later: the sweeps ran past the retention of the two versions' bundles.
    await collected(await upload());
    expect(await readable(first)).toBe(true);
    expect(await readable(second)).toBe(true);

    const usedAt = async (digest: string) => Number(await redis.hget(`${PREFIX}stubs:code:${digest}`, 'usedAtMs'));
    const redisNow = async () => {
      const [seconds, micros] = (await redis.time()).map(Number) as [number, number];
      return seconds * 1000 + Math.floor(micros / 1000);
    };
    const versionDeletedAt = await redisNow();
    await stubs.deleteVersion({ name: 'versioned', version: 1 });
    expect(await usedAt(first)).toBeGreaterThanOrEqual(versionDeletedAt);
    await collected(first);
    expect(await readable(second)).toBe(true);

    const functionDeletedAt = await redisNow();
    await stubs.deleteFunction({ name: 'versioned' });
    expect(await usedAt(second)).toBeGreaterThanOrEqual(functionDeletedAt);
    expect(await usedAt(latest)).toBeGreaterThanOrEqual(functionDeletedAt);
    await collected(second);
    await collected(latest);
  });

  it('never leaves a deployed function pointing at a collected bundle when deploys race the collector', async () => {
    const bundles = await Promise.all(Array.from({ length: 40 }, () => upload()));
    const uploadedAt = Date.now();
    // Deploys spread from well before to well after the bundles' retention ends.
    const outcomes = await Promise.all(
      bundles.map(async (digest, index) => {
        const at = uploadedAt + RETENTION_MS * (0.5 + index / bundles.length);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
        try {
          await deploy(`racer-${index}`, digest);
          return { digest, deployed: true };
        } catch (error) {
          expect((error as { code?: string }).code, String(error)).toBe('code_not_found');
          return { digest, deployed: false };
        }
      }),
    );
    // A marker uploaded now and collected later proves sweeps ran past every racer's retention.
    await collected(await upload());
    for (const { digest, deployed } of outcomes) {
      expect(await readable(digest), `${digest} deployed: ${deployed}`).toBe(deployed);
      expect(existsSync(blobFile(digest)), `${digest} file, deployed: ${deployed}`).toBe(deployed);
    }
    console.log(`racing deploys: ${outcomes.filter((o) => o.deployed).length} kept their bundle, ${outcomes.filter((o) => !o.deployed).length} found it collected`);
  });
});
