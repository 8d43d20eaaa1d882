// The S3 blob store against a real S3-protocol server (s3rver, on a free
// loopback port), reached through a TCP relay the tests can make cut an
// upload halfway.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { zipSync } from 'fflate';
import S3rver from 's3rver';
import { PlatformError } from '@faas/errors';
import { READ_CHUNK_BYTES } from './blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

const BUCKET = 'faas-code';
const PREFIX = 'test/';

async function* chunked(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

async function rejection(promise: Promise<unknown>): Promise<PlatformError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PlatformError);
  return error as PlatformError;
}

/** Forwards TCP to `target`; once `cutAfterBytes` is set, a connection that has sent more than that toward the target is torn down. */
class CuttingRelay {
  cutAfterBytes: number | undefined;
  cuts = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      let sent = 0;
      client.on('data', (data: Buffer) => {
        sent += data.length;
        if (this.cutAfterBytes !== undefined && sent > this.cutAfterBytes) {
          this.cuts += 1;
          upstream.write(data.subarray(0, Math.max(0, data.length - (sent - this.cutAfterBytes))));
          upstream.destroy();
          client.destroy();
          return;
        }
        upstream.write(data);
      });
      upstream.pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', drop).on('error', drop);
      upstream.on('close', drop).on('error', drop);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('S3BlobStore', () => {
  let workDir: string;
  let s3rver: S3rver;
  let relay: CuttingRelay;
  let client: S3Client;
  let store: S3BlobStore;
  let dataDir: string;

  const keysInBucket = async () =>
    ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((object) => object.Key!).sort();

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'stubs-s3-'));
    s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(workDir, 's3rver'), configureBuckets: [{ name: BUCKET, configs: [] }] });
    const { port } = (await s3rver.run()) as AddressInfo;
    relay = new CuttingRelay(port);
    const relayPort = await relay.listen();
    client = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${relayPort}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await relay?.close();
    await s3rver?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    relay.cutAfterBytes = undefined;
    for (const key of await keysInBucket()) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    dataDir = await mkdtemp(join(workDir, 'data-'));
    store = new S3BlobStore({ client, bucket: BUCKET, prefix: PREFIX, dataDir });
    await store.init();
  });

  const bundle = zipSync({ 'index.js': new TextEncoder().encode('exports.handler = async () => 1;\n'.repeat(50_000)) }, { level: 0 });
  const hexOfBundle = createHash('sha256').update(bundle).digest('hex');
  const unindexed = async () => {};

  it('stores bytes under <prefix>sha256/<hex> once, reads them back in chunks of at most 256 KiB, and lists them', async () => {
    const registered: Array<[string, number]> = [];
    const first = await store.put(chunked(bundle, 7_000), 10 * 1024 * 1024, async (hex, size) => void registered.push([hex, size]));
    expect(first).toEqual({ hex: hexOfBundle, size: bundle.length, created: true });
    expect(await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, unindexed)).toEqual({ ...first, created: false });
    expect(registered).toEqual([[hexOfBundle, bundle.length]]);
    expect(await keysInBucket()).toEqual([`${PREFIX}sha256/${hexOfBundle}`]);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);

    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(hexOfBundle)) chunks.push(chunk);
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(READ_CHUNK_BYTES);
    expect(Buffer.concat(chunks).equals(Buffer.from(bundle))).toBe(true);
    expect(await store.size(hexOfBundle)).toBe(bundle.length);
    expect((await store.list()).map((blob) => blob.hex)).toEqual([hexOfBundle]);
    expect(await store.withFile(hexOfBundle, async (path) => (await readdir(join(path, '..'))).length)).toBe(1);
    expect(await readdir(join(dataDir, 'tmp')), 'the download is removed after use').toEqual([]);
  });

  it('stores nothing when the client\'s upload fails halfway, or when it is too large', async () => {
    async function* failingHalfway() {
      yield bundle.subarray(0, bundle.length / 2);
      throw new Error('the client went away');
    }
    await expect(store.put(failingHalfway(), 10 * 1024 * 1024, unindexed)).rejects.toThrow('the client went away');
    expect((await rejection(store.put(chunked(bundle, 64 * 1024), bundle.length - 1, unindexed))).code).toBe('payload_too_large');
    expect(await keysInBucket()).toEqual([]);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
  });

  it('serves nothing half-stored when the link to S3 breaks halfway through an upload, and takes the upload again after', async () => {
    relay.cutAfterBytes = bundle.length / 2;
    let registered = 0;
    const error = await rejection(store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, async () => void (registered += 1)));
    expect(error.code).toBe('service_unavailable');
    expect(relay.cuts).toBeGreaterThan(0);
    expect(registered, 'a blob that did not reach S3 is not registered').toBe(0);

    relay.cutAfterBytes = undefined;
    const size = await store.size(hexOfBundle);
    expect(size === undefined || size === bundle.length, `a torn object of ${size} bytes is visible`).toBe(true);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);

    expect((await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, unindexed)).size).toBe(bundle.length);
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(hexOfBundle)) chunks.push(chunk);
    expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(hexOfBundle);
  });

  it('removes a blob, unless it is wanted again by the time it is out of place, and leaves no copy aside', async () => {
    await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, unindexed);
    expect(await store.remove(hexOfBundle, async () => true)).toBe(false);
    expect(await store.size(hexOfBundle)).toBe(bundle.length);
    expect(await store.remove(hexOfBundle, async () => false)).toBe(true);
    expect(await store.size(hexOfBundle)).toBeUndefined();
    expect(await store.remove(hexOfBundle, async () => false), 'already gone').toBe(false);
    expect(await keysInBucket()).toEqual([]);
  });

  it('keeps an upload whose blob a removal took away while it was being registered', async () => {
    await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, unindexed);
    const again = await store.put(chunked(bundle, 64 * 1024), 10 * 1024 * 1024, async (hex) => {
      expect(await store.remove(hex, async () => false)).toBe(true);
    });
    expect(again.created).toBe(false);
    expect(await store.size(hexOfBundle)).toBe(bundle.length);
  });

  it('answers code_not_found for an unknown blob, and service_unavailable when S3 is unreachable', async () => {
    expect((await rejection(store.read('b'.repeat(64)))).code).toBe('code_not_found');
    expect((await rejection(store.withFile('b'.repeat(64), async () => 1))).code).toBe('code_not_found');
    const nowhere = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    const unreachable = new S3BlobStore({ client: nowhere, bucket: BUCKET, prefix: PREFIX, dataDir });
    expect((await rejection(unreachable.init())).code).toBe('service_unavailable');
    nowhere.destroy();
  });
});
