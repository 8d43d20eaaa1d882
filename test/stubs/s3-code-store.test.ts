// Two stubs replicas (their own processes, real Redis) sharing one S3 bucket
// (s3rver on a free loopback port): a bundle uploaded through one is served,
// checked and collected through the other, and neither keeps bundles on its
// own disk.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { Stubs, createClient } from '@faas/protocol';
import { freePort, startRedis, startService, type ManagedProcess, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { platformError } from '../support/errors.js';
import { eventually } from '../support/http.js';

const BUCKET = 'shared-code';
const S3_PREFIX = 'faas/';
const RETENTION_MS = 2_000;

let workDir: string;
let s3rver: S3rver;
let s3: S3Client;
let redisProcess: ManagedProcess;
const replicas: RunningService[] = [];
const clients: Array<ReturnType<typeof createClient<typeof Stubs.method>>> = [];
let uploads = 0;

const keysInBucket = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((object) => object.Key!);

async function upload(through: (typeof clients)[number], files: Record<string, string> = {}): Promise<string> {
  const bytes = zipBundle({ 'index.js': `exports.handler = async () => ${++uploads};\n`, ...files });
  const { digest } = await through.putCode((async function* () {
    yield { chunk: bytes };
  })());
  return digest;
}

async function download(through: (typeof clients)[number], digest: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const { chunk } of through.getCode({ digest })) parts.push(chunk);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-s3-code-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(workDir, 's3rver'), configureBuckets: [{ name: BUCKET, configs: [] }] });
  const endpoint = `http://127.0.0.1:${((await s3rver.run()) as AddressInfo).port}`;
  s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const redisPort = await freePort();
  redisProcess = await startRedis(redisPort, path.join(workDir, 'redis'));
  for (const name of ['a', 'b']) {
    const replica = await startService(
      'stubs',
      {
        STUBS_LISTEN: '127.0.0.1:0',
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        REDIS_KEY_PREFIX: 's3-code-test:',
        STUBS_DATA_DIR: path.join(workDir, `data-${name}`),
        STUBS_CODE_STORE: 's3',
        STUBS_S3_BUCKET: BUCKET,
        STUBS_S3_PREFIX: S3_PREFIX,
        STUBS_S3_ENDPOINT: endpoint,
        STUBS_S3_FORCE_PATH_STYLE: 'true',
        STUBS_CODE_RETENTION: `${RETENTION_MS}ms`,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        LOG_LEVEL: 'info',
      },
      undefined,
      { label: `stubs-${name}` },
    );
    replicas.push(replica);
    clients.push(createClient(Stubs, replica.address, { peerName: 'stubs', defaultTimeoutMs: 10_000 }));
  }
});

afterAll(async () => {
  for (const client of clients) client.close();
  const exits = await Promise.all(replicas.map((replica) => replica.process.stop()));
  await redisProcess?.stop();
  s3?.destroy();
  await s3rver?.close();
  rmSync(workDir, { recursive: true, force: true });
  for (const exit of exits) expect(exit).toMatchObject({ code: 0 });
});

describe('code bundles in a shared S3 bucket', () => {
  it('serves through one replica what was uploaded through the other, from the bucket alone', async () => {
    const [a, b] = clients as [(typeof clients)[number], (typeof clients)[number]];
    const bytes = zipBundle({ 'index.js': 'exports.handler = async () => "shared";\n' });
    const { digest, created } = await a.putCode((async function* () {
      yield { chunk: bytes.subarray(0, 10) };
      yield { chunk: bytes.subarray(10) };
    })());
    expect(created).toBe(true);
    expect((await download(b, digest)).equals(Buffer.from(bytes))).toBe(true);
    expect(await keysInBucket()).toContain(`${S3_PREFIX}sha256/${digest.slice('sha256:'.length)}`);
    expect(existsSync(path.join(workDir, 'data-a', 'blobs')), 'nothing on the replica\'s disk').toBe(false);
    // The same bytes through the other replica are already stored.
    expect((await b.putCode((async function* () {
      yield { chunk: bytes };
    })())).created).toBe(false);
  });

  it('checks a custom runtime\'s bundle read back from the bucket', async () => {
    const [a, b] = clients as [(typeof clients)[number], (typeof clients)[number]];
    const codeDigest = await upload(a, { bootstrap: '#!/bin/sh\n', 'runtime.json': '{"name": "from-s3", "description": "a runtime"}' });
    await b.putRuntime({ runtime: { name: 'from-s3', codeDigest, description: 'a runtime' } });
    expect((await b.getRuntime({ name: 'from-s3' })).runtime?.codeDigest).toBe(codeDigest);
    const noBootstrap = await upload(a);
    expect((await platformError(b.putRuntime({ runtime: { name: 'broken', codeDigest: noBootstrap } }))).code).toBe('invalid_code_bundle');
  });

  it('collects a bundle nothing uses from the bucket', async () => {
    const [a, b] = clients as [(typeof clients)[number], (typeof clients)[number]];
    const unused = await upload(a);
    const key = `${S3_PREFIX}sha256/${unused.slice('sha256:'.length)}`;
    expect(await keysInBucket()).toContain(key);
    await eventually(async () => ((await keysInBucket()).includes(key) ? undefined : true), 20 * RETENTION_MS, `${unused} to leave the bucket`);
    expect((await platformError(download(b, unused))).code).toBe('code_not_found');
    expect((await keysInBucket()).filter((name) => name.startsWith(`${S3_PREFIX}removing/`)), 'no copy left aside').toEqual([]);
  });
});
