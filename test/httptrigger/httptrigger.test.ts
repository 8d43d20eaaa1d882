// httptrigger as its own process, with in-test Stubs and Controller
// servers, a real queue-worker and real NATS and Redis behind it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import {
  Controller,
  FunctionConfigSchema,
  InvocationKind,
  Stubs,
  addService,
  create,
  grpc,
  listen,
  shutdown,
  type FunctionConfig,
  type Invocation,
} from '@faas/protocol';
import { freePort, startNats, startRedis, startService, type ManagedProcess, type RunningService } from '@faas/launcher';
import { noAttachments, placedCallsAnsweredBy } from '../support/fake-streams.js';
import { eventually, http } from '../support/http.js';

const digest = `sha256:${'c'.repeat(64)}`;
const notPartOfThisTest = async (): Promise<never> => {
  throw new PlatformError('internal', 'not part of this test');
};

let workDir: string;
let nats: ManagedProcess;
let redis: ManagedProcess;
let fakes: grpc.Server;
let queueWorker: RunningService;
let httptrigger: RunningService;
let baseUrl: string;
let fakesAddress: string;

const functions = new Map<string, FunctionConfig>();
const uploads: { size: number; chunks: number }[] = [];
const invocations: Invocation[] = [];
const traceparents = new Map<string, string>();

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-ht-test-'));
  const natsPort = await freePort();
  const redisPort = await freePort();
  nats = await startNats(natsPort, path.join(workDir, 'nats'));
  redis = await startRedis(redisPort, path.join(workDir, 'redis'));

  fakes = new grpc.Server();
  addService(fakes, Stubs, {
    async putCode(requests) {
      let size = 0;
      let chunks = 0;
      for await (const request of requests) {
        size += request.chunk.byteLength;
        chunks++;
      }
      uploads.push({ size, chunks });
      return { digest, size: BigInt(size), created: uploads.length === 1 };
    },
    async *getCode() {},
    async putFunction({ function: config }) {
      if (!config || config.runtime !== 'nodejs') throw new PlatformError('invalid_function_config', 'runtime must be nodejs');
      const existing = functions.get(config.name);
      const saved = create(FunctionConfigSchema, { ...config, version: (existing?.version ?? 0n) + 1n, createdAtMs: BigInt(Date.now()), updatedAtMs: BigInt(Date.now()) });
      functions.set(saved.name, saved);
      return { function: saved, created: !existing };
    },
    async getFunction({ name }) {
      const found = functions.get(name);
      if (!found) throw new PlatformError('function_not_found', `no function "${name}"`);
      return { function: found };
    },
    async listFunctions() {
      return { functions: [...functions.values()] };
    },
    async deleteFunction({ name }) {
      if (!functions.delete(name)) throw new PlatformError('function_not_found', `no function "${name}"`);
      return {};
    },
    putRuntime: notPartOfThisTest,
    getRuntime: notPartOfThisTest,
    listRuntimes: notPartOfThisTest,
    putTrigger: notPartOfThisTest,
    getTrigger: notPartOfThisTest,
    async listTriggers() {
      return { triggers: [] };
    },
    deleteTrigger: notPartOfThisTest,
    publishVersion: notPartOfThisTest,
    listVersions: notPartOfThisTest,
    deleteVersion: notPartOfThisTest,
    putAlias: notPartOfThisTest,
    getAlias: notPartOfThisTest,
    listAliases: notPartOfThisTest,
    deleteAlias: notPartOfThisTest,
    putSecret: notPartOfThisTest,
    listSecrets: notPartOfThisTest,
    deleteSecret: notPartOfThisTest,
    getSecretValues: notPartOfThisTest,
    getRegistryStatus: async () => ({ durable: true, warning: '' }),
  });
  const invoke = async ({ invocation }: { invocation?: Invocation }, context: { metadata: grpc.Metadata }) => {
      invocations.push(invocation!);
      const traceparent = context.metadata.get('traceparent')[0];
      if (typeof traceparent === 'string') traceparents.set(invocation!.callId, traceparent);
      if (!functions.has(invocation!.functionName)) throw new PlatformError('function_not_found', 'no such function');
      const text = new TextDecoder().decode(invocation!.payload);
      if (text === 'throw') return { result: { callId: invocation!.callId, functionError: { type: 'TypeError', message: 'asked to throw', stack: 'TypeError: asked to throw\n    at handler' } } };
      // What a funclet sends back: a checked HTTP response for HTTP calls, JSON bytes for events.
      if (invocation!.kind === InvocationKind.HTTP) {
        const headers = [{ name: 'x-seen-path', value: invocation!.http!.path }, { name: 'content-type', value: 'text/plain' }];
        const body = new TextEncoder().encode(`${invocation!.http!.method} ${invocation!.http!.rawQuery} ${text}`);
        return { result: { callId: invocation!.callId, httpResponse: { status: 201, headers, body }, durationSeconds: 0.001 } };
      }
      const value = { reversed: [...text].reverse().join('') };
      return { result: { callId: invocation!.callId, result: new TextEncoder().encode(JSON.stringify(value)), durationSeconds: 0.001 } };
  };
  addService(fakes, Controller, {
    invoke,
    calls: placedCallsAnsweredBy(invoke),
    attach: noAttachments,
  });
  fakesAddress = await listen(fakes, '127.0.0.1:0');

  queueWorker = await startService('queue-worker', {
    QUEUE_WORKER_LISTEN: '127.0.0.1:0',
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_KEY_PREFIX: 'httest:',
    CONTROLLER_ADDRESS: fakesAddress,
    STUBS_ADDRESS: fakesAddress,
  });
  httptrigger = await startService('httptrigger', {
    // Not a test of auth: the edge's routes open, as FAAS_AUTH=off makes them.
    FAAS_AUTH: 'off',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    CONTROLLER_ADDRESS: fakesAddress,
    STUBS_ADDRESS: fakesAddress,
    QUEUE_WORKER_ADDRESS: queueWorker.address,
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    HTTP_MAX_CODE_MB: '2',
    HTTP_MAX_PAYLOAD_MB: '1',
  });
  baseUrl = `http://${httptrigger.address}`;
  await eventually(async () => ((await http(`${baseUrl}/healthz`)).json?.nats === 'connected' ? true : undefined), 10_000, 'httptrigger to connect to NATS');
});

afterAll(async () => {
  const exits = await Promise.all([httptrigger?.process.stop(), queueWorker?.process.stop()]);
  if (fakes) await shutdown(fakes, 1_000);
  await nats?.stop();
  await redis?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  expect(exits.map((exit) => exit?.code)).toEqual([0, 0]);
});

describe('httptrigger management API', () => {
  it('streams code uploads to stubs and enforces the size limit', async () => {
    const bundle = Buffer.alloc(1_500_000, 7);
    const stored = await http(`${baseUrl}/v1/code`, { method: 'POST', body: bundle, headers: { 'content-type': 'application/zip' } });
    expect(stored.status, stored.text).toBe(201);
    expect(stored.json).toEqual({ digest, size: 1_500_000 });
    expect(uploads[0]!.chunks).toBeGreaterThan(1);

    const again = await http(`${baseUrl}/v1/code`, { method: 'POST', body: Buffer.alloc(10, 1) });
    expect(again.status).toBe(200);

    const tooLarge = await http(`${baseUrl}/v1/code`, { method: 'POST', body: Buffer.alloc(3 * 1024 * 1024) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json).toMatchObject({ code: 'payload_too_large' });
  });

  it('refuses an oversized chunked upload while it streams', async () => {
    const chunk = Buffer.alloc(256 * 1024, 1);
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 12; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${baseUrl}/v1/code`, { method: 'POST', body, duplex: 'half' } as RequestInit).catch((error: Error) => error);
    // The server may answer before it has read everything, or cut the upload.
    if (response instanceof Response) {
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ code: 'payload_too_large' });
    }
    const last = uploads.at(-1)!;
    expect(last.size).toBeLessThanOrEqual(2 * 1024 * 1024);
  });

  it('creates, updates, reads, lists and deletes functions', async () => {
    const created = await http(`${baseUrl}/v1/functions/echo`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest } } });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ name: 'echo', version: 1, memoryMb: 128, timeoutSeconds: 30, maxConcurrency: 10, code: { digest } });
    expect(created.json.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const updated = await http(`${baseUrl}/v1/functions/echo`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest }, environment: { MODE: 'x' } } });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ version: 2, environment: { MODE: 'x' } });

    const invalid = await http(`${baseUrl}/v1/functions/echo`, { method: 'PUT', json: { runtime: 'cobol', handler: 'a.b', code: { digest } } });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ code: 'invalid_function_config' });

    expect((await http(`${baseUrl}/v1/functions/echo`)).json).toMatchObject({ name: 'echo', version: 2 });
    expect((await http(`${baseUrl}/v1/functions`)).json.functions.map((f: { name: string }) => f.name)).toContain('echo');

    await http(`${baseUrl}/v1/functions/doomed`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest } } });
    expect((await http(`${baseUrl}/v1/functions/doomed`, { method: 'DELETE' })).status).toBe(204);
    const gone = await http(`${baseUrl}/v1/functions/doomed`);
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ code: 'function_not_found' });
  });

  it('answers unknown routes and methods as JSON errors', async () => {
    const missing = await http(`${baseUrl}/v2/anything`);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 'route_not_found' });
    const wrong = await http(`${baseUrl}/v1/functions`, { method: 'POST', body: '{}' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('httptrigger invocations', () => {
  it('invokes synchronously with call id and duration headers', async () => {
    const answer = await http(`${baseUrl}/v1/functions/echo/invocations`, { method: 'POST', body: 'abc', headers: { 'x-call-id': 'sync-1' } });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ reversed: 'cba' });
    expect(answer.headers.get('x-call-id')).toBe('sync-1');
    expect(Number(answer.headers.get('x-duration-seconds'))).toBeGreaterThan(0);
  });

  it('reports a function error with 200 and X-Function-Error', async () => {
    const answer = await http(`${baseUrl}/v1/functions/echo/invocations`, { method: 'POST', body: 'throw' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-function-error')).toBe('TypeError');
    expect(answer.json).toMatchObject({ errorType: 'TypeError', errorMessage: 'asked to throw' });
  });

  it('reports a platform error with its catalogue status, call id and duration', async () => {
    const answer = await http(`${baseUrl}/v1/functions/ghost/invocations`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ code: 'function_not_found' });
    expect(answer.headers.get('x-call-id')).toBeTruthy();
    expect(answer.headers.get('x-duration-seconds')).toBeTruthy();
  });

  it('refuses payloads over the limit', async () => {
    const answer = await http(`${baseUrl}/v1/functions/echo/invocations`, { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1) });
    expect(answer.status).toBe(413);
  });

  it('runs HTTP invocations under /function/<name> and shapes the response', async () => {
    const answer = await http(`${baseUrl}/function/echo/items/7?full=1`, { method: 'PUT', body: 'data' });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.text).toBe('PUT full=1 data');
    expect(answer.headers.get('x-seen-path')).toBe('/items/7');
    expect(answer.headers.get('content-type')).toBe('text/plain');
    expect(answer.headers.get('x-call-id')).toBeTruthy();

    const head = await fetch(`${baseUrl}/function/echo`, { method: 'HEAD' });
    expect(head.status).toBe(201);
    const failing = await http(`${baseUrl}/function/echo`, { method: 'POST', body: 'throw' });
    expect(failing.status).toBe(500);
    expect(failing.headers.get('x-function-error')).toBe('TypeError');
  });

  it('queues /async-function calls through NATS and shows their results', async () => {
    const traceId = '6bf92f3577b34da6a3ce929d0e0e4736';
    const accepted = await http(`${baseUrl}/async-function/echo/hook?k=v`, {
      method: 'POST',
      body: 'later',
      headers: { 'x-call-id': 'async-http-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(accepted.status, accepted.text).toBe(202);
    expect(accepted.json).toEqual({ callId: 'async-http-1' });
    expect(accepted.headers.get('x-call-id')).toBe('async-http-1');

    const call = await eventually(async () => {
      const answer = await http(`${baseUrl}/v1/calls/async-http-1`);
      return answer.json?.status === 'succeeded' ? answer.json : undefined;
    }, 20_000, 'the async call to succeed');
    expect(call).toMatchObject({ callId: 'async-http-1', functionName: 'echo', attempts: 1, result: { statusCode: 201, body: 'POST k=v later' } });
    expect(call.finishedAt).toBeTruthy();
    // The trace went from the HTTP request through NATS and queue-worker to the controller.
    expect(traceparents.get('async-http-1')).toMatch(new RegExp(`^00-${traceId}-`));
  });

  it('queues Lambda-style Event invocations', async () => {
    const accepted = await http(`${baseUrl}/v1/functions/echo/invocations`, { method: 'POST', body: '"xyz"', headers: { 'x-invocation-type': 'Event', 'content-type': 'application/json' } });
    expect(accepted.status).toBe(202);
    const callId = accepted.json.callId as string;
    const call = await eventually(async () => {
      const answer = await http(`${baseUrl}/v1/calls/${callId}`);
      return answer.json?.status === 'succeeded' ? answer.json : undefined;
    }, 20_000, 'the event call to succeed');
    expect(call.result).toEqual({ reversed: '"zyx"' });
    expect(invocations.find((i) => i.callId === callId)).toMatchObject({ kind: InvocationKind.EVENT, contentType: 'application/json' });
  });

  it('refuses to queue calls for unknown functions, and knows no unknown calls', async () => {
    const refused = await http(`${baseUrl}/async-function/ghost`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(404);
    expect(refused.json).toMatchObject({ code: 'function_not_found' });
    const unknown = await http(`${baseUrl}/v1/calls/never-was`);
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ code: 'call_not_found' });
  });
});

describe('httptrigger without NATS', () => {
  it('starts anyway and answers 503 to asynchronous calls', async () => {
    const deadPort = await freePort();
    const lonely = await startService('httptrigger', {
      // Not a test of auth: the edge's routes open, as FAAS_AUTH=off makes them.
      FAAS_AUTH: 'off',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      CONTROLLER_ADDRESS: fakesAddress,
      STUBS_ADDRESS: fakesAddress,
      QUEUE_WORKER_ADDRESS: queueWorker.address,
      NATS_URL: `nats://127.0.0.1:${deadPort}`,
    });
    try {
      const url = `http://${lonely.address}`;
      expect((await http(`${url}/healthz`)).json).toEqual({ status: 'ok', nats: 'disconnected', auth: 'off' });
      const refused = await http(`${url}/async-function/echo`, { method: 'POST', body: '{}' });
      expect(refused.status).toBe(503);
      expect(refused.json).toMatchObject({ code: 'service_unavailable' });
    } finally {
      expect((await lonely.process.stop()).code).toBe(0);
    }
  });
});
