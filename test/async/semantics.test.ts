// The asynchronous path's promises, each as a user would see them: real
// NATS JetStream, Redis, stubs, httptrigger and two queue-workers as their
// own processes; a fake controller stands in for the scheduler and the
// sandboxes, so each function's behaviour (fail twice, always fail, take
// long) is exact and every run of a call id is counted.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as transport from '@nats-io/transport-node';
import { PlatformError } from '@faas/errors';
import { Controller, addService, grpc, listen, shutdown, type Invocation } from '@faas/protocol';
import { freePort, startNats, startRedis, startService, type ManagedProcess, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { noAttachments, placedCallsAnsweredBy } from '../support/fake-streams.js';
import { eventually, http } from '../support/http.js';

const SECRET = 'callback-secret-of-this-test';
let workDir: string;
let nats: ManagedProcess;
let redis: ManagedProcess;
let fakeController: grpc.Server;
let stubs: RunningService;
const workers: RunningService[] = [];
let edge: RunningService;
let base: string;
let natsUrl: string;
let natsPort: number;
let nc: transport.NatsConnection;

/** Runs per call id, and what the last run received. */
const runs = new Map<string, number>();
const received = new Map<string, { payload: string; contentType: string; cloudEvent: Record<string, string> }>();
/** Call ids of always-fail that succeed from now on (the "fixed" function of a replay). */
const healed = new Set<string>();

async function fakeInvoke({ invocation }: { invocation?: Invocation }) {
  const call = invocation!;
  const seen = (runs.get(call.callId) ?? 0) + 1;
  runs.set(call.callId, seen);
  received.set(call.callId, { payload: Buffer.from(call.payload).toString('utf8'), contentType: call.contentType, cloudEvent: { ...call.cloudEventAttributes } });
  const ok = { result: { callId: call.callId, result: Buffer.from(JSON.stringify({ run: seen, payload: Buffer.from(call.payload).toString('utf8') })), durationSeconds: 0.001 } };
  switch (call.functionName) {
    case 'flaky':
      if (seen <= 2) throw new PlatformError('bad_gateway', `flaky run ${seen}`);
      return ok;
    case 'always-fail':
      if (healed.has(call.callId)) return ok;
      return { result: { callId: call.callId, functionError: { type: 'Error', message: `failed run ${seen}` } } };
    case 'slow':
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      return ok;
    default:
      return ok;
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-async-test-'));
  natsPort = await freePort();
  const redisPort = await freePort();
  nats = await startNats(natsPort, path.join(workDir, 'nats'));
  redis = await startRedis(redisPort, path.join(workDir, 'redis'));
  natsUrl = `nats://127.0.0.1:${natsPort}`;
  const common = { NATS_URL: natsUrl, REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_KEY_PREFIX: 'asynctest:' };

  fakeController = new grpc.Server();
  addService(fakeController, Controller, {
    invoke: fakeInvoke,
    calls: placedCallsAnsweredBy(fakeInvoke),
    attach: noAttachments,
  });
  const controllerAddress = await listen(fakeController, '127.0.0.1:0');
  stubs = await startService('stubs', { ...common, STUBS_LISTEN: '127.0.0.1:0', STUBS_DATA_DIR: path.join(workDir, 'stubs') });
  for (let replica = 0; replica < 2; replica++) {
    workers.push(
      await startService('queue-worker', {
        ...common,
        QUEUE_WORKER_LISTEN: '127.0.0.1:0',
        CONTROLLER_ADDRESS: controllerAddress,
        STUBS_ADDRESS: stubs.address,
        // Shorter than the slow function's run: only progress acks keep it from running twice.
        QUEUE_WORKER_ACK_WAIT_MS: '1000',
        QUEUE_WORKER_CALLBACK_BASE_DELAY_MS: '200',
        QUEUE_WORKER_CALLBACK_MAX_DELAY_MS: '500',
        QUEUE_WORKER_FUNCTION_CACHE_MS: '0',
      }),
    );
  }
  edge = await startService('httptrigger', {
    // Not a test of auth: the edge's routes open, as FAAS_AUTH=off makes them.
    FAAS_AUTH: 'off',
    ...common,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    CONTROLLER_ADDRESS: controllerAddress,
    STUBS_ADDRESS: stubs.address,
    QUEUE_WORKER_ADDRESS: workers[0]!.address,
  });
  base = `http://${edge.address}`;
  nc = await transport.connect({ servers: natsUrl });

  const upload = await http(`${base}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': 'exports.handler = async () => 1;' }) });
  const code = { digest: upload.json.digest };
  const deploy = (name: string, extra: Record<string, unknown> = {}) =>
    http(`${base}/v1/functions/${name}`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code, ...extra } });
  for (const name of ['echo', 'flaky', 'slow']) expect((await deploy(name, { async: { baseDelayMs: 100, maxDelayMs: 400 } })).status).toBe(201);
  const signed = await deploy('signed', { async: { callbackSecret: SECRET } });
  expect(signed.json.async).toMatchObject({ callbackSecretSet: true });
  expect(signed.json.async).not.toHaveProperty('callbackSecret');
  expect((await deploy('always-fail', { async: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200, retryFunctionErrors: true } })).status).toBe(201);
});

afterAll(async () => {
  await nc?.close();
  const exits = [];
  for (const service of [edge, ...workers, stubs]) if (service) exits.push(await service.process.stop());
  if (fakeController) await shutdown(fakeController, 1_000);
  await nats?.stop();
  await redis?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  expect(exits.map((exit) => exit.code)).toEqual(exits.map(() => 0));
});

const queue = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  http(`${base}/v1/functions/${name}/invocations`, { method: 'POST', json: body, headers: { 'x-invocation-type': 'Event', ...headers } });

const callOf = (callId: string) => http(`${base}/v1/calls/${callId}`);

async function untilStatus(callId: string, status: string, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const answer = await callOf(callId);
      return answer.json?.status === status ? answer.json : undefined;
    },
    timeoutMs,
    `call ${callId} to be ${status}`,
  );
}

describe('asynchronous calls', () => {
  it('accepts a call once per X-Call-Id and runs it once', async () => {
    const first = await queue('echo', { n: 1 }, { 'x-call-id': 'dedupe-1' });
    const again = await queue('echo', { n: 1 }, { 'x-call-id': 'dedupe-1' });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(first.json).toEqual({ callId: 'dedupe-1' });
    const call = await untilStatus('dedupe-1', 'succeeded');
    expect(call).toMatchObject({ attempts: 1, source: 'http', result: { run: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(runs.get('dedupe-1')).toBe(1);
  });

  it('ends a function that fails twice then succeeds as succeeded after 3 attempts', async () => {
    const { json } = await queue('flaky', 'x');
    const call = await untilStatus(json.callId, 'succeeded');
    expect(call.attempts).toBe(3);
    expect(call.attemptErrors.map((entry: { error: { code: string } }) => entry.error.code)).toEqual(['bad_gateway', 'bad_gateway']);
    expect(runs.get(json.callId)).toBe(3);
  });

  it('dead-letters a function that always fails, lists it, and runs it again on replay', async () => {
    const { json } = await queue('always-fail', { order: 7 });
    const dead = await untilStatus(json.callId, 'dead-lettered');
    expect(dead.attempts).toBe(3);
    expect(dead.attemptErrors).toHaveLength(3);
    expect(runs.get(json.callId)).toBe(3);
    const listed = await eventually(async () => {
      const answer = await http(`${base}/v1/dead-letters?function=always-fail`);
      return answer.json.deadLetters.find((entry: { callId: string }) => entry.callId === json.callId);
    }, 10_000, 'the dead letter to be listed');
    expect(listed.attemptErrors.map((entry: { error: { errorMessage: string } }) => entry.error.errorMessage)).toEqual(['failed run 1', 'failed run 2', 'failed run 3']);
    expect(Buffer.from(listed.request.payload, 'base64').toString()).toBe('{"order":7}');
    expect((await http(`${base}/v1/calls?function=always-fail&status=dead-lettered`)).json.calls.map((c: { callId: string }) => c.callId)).toContain(json.callId);

    healed.add(json.callId);
    const replay = await http(`${base}/v1/dead-letters/${json.callId}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    expect(replay.json).toMatchObject({ status: 'queued', replays: 1, attempts: 0 });
    const replayed = await untilStatus(json.callId, 'succeeded');
    expect(replayed).toMatchObject({ replays: 1, attempts: 1, result: { payload: '{"order":7}' } });
    expect(runs.get(json.callId)).toBe(4);
    // Replayed once: the dead letter is gone, so a second replay is refused with a code.
    const twice = await http(`${base}/v1/dead-letters/${json.callId}/replay`, { method: 'POST' });
    expect([twice.status, twice.json.code]).toEqual([404, 'dead_letter_not_found']);
  });

  it('runs a call longer than the ack wait once, keeping the message with progress acks', async () => {
    const { json } = await queue('slow', {});
    const call = await untilStatus(json.callId, 'succeeded', 20_000);
    expect(call.attempts).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(runs.get(json.callId)).toBe(1);
  });

  it('delivers a callback to a target that is down at first once it comes back, signed', async () => {
    const port = await freePort();
    const { json } = await queue('signed', { hello: 'callback' }, { 'x-callback-url': `http://127.0.0.1:${port}/done` });
    await eventually(async () => {
      const call = (await callOf(json.callId)).json;
      return call.callback?.attempts >= 2 && call.callback.status === 'pending' ? call : undefined;
    }, 20_000, 'failed callback attempts');
    const got: { headers: IncomingHttpHeaders; body: string }[] = [];
    const target: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        got.push({ headers: request.headers, body });
        response.end('thanks');
      });
    });
    await new Promise<void>((resolve) => target.listen(port, '127.0.0.1', resolve));
    try {
      const call = await eventually(async () => {
        const answer = (await callOf(json.callId)).json;
        return answer.callback?.status === 'delivered' ? answer : undefined;
      }, 30_000, 'the callback to be delivered');
      expect(call.callback).toMatchObject({ responseStatus: 200, lastError: '' });
      expect(got).toHaveLength(1);
      const { headers, body } = got[0]!;
      expect(JSON.parse(body)).toMatchObject({ payload: '{"hello":"callback"}' });
      expect(headers).toMatchObject({ 'x-call-id': json.callId, 'x-function-name': 'signed', 'x-function-status': '200', 'x-call-status': 'succeeded' });
      expect(Number(headers['x-duration-seconds'])).toBeGreaterThanOrEqual(0);
      const expected = createHmac('sha256', SECRET).update(`${headers['x-faas-timestamp']}.${body}`).digest('hex');
      expect(headers['x-faas-signature']).toBe(`sha256=${expected}`);
    } finally {
      await new Promise((resolve) => target.close(resolve));
    }
  });

  it('refuses a callback into the platform\'s own ports', async () => {
    const { json } = await queue('echo', {}, { 'x-callback-url': `http://localhost:${natsPort}/` });
    const call = await eventually(async () => {
      const answer = (await callOf(json.callId)).json;
      return answer.callback?.status === 'refused' ? answer : undefined;
    }, 20_000, 'the callback to be refused');
    expect(call.status).toBe('succeeded');
    expect(call.callback.lastError).toMatch(/platform/);
  });

  it('refuses bodies over the async limit with 413 and a code, and keeps the sync limit apart', async () => {
    const big = 'x'.repeat(300 * 1024);
    const queued = await http(`${base}/v1/functions/echo/invocations`, { method: 'POST', body: big, headers: { 'x-invocation-type': 'Event', 'content-type': 'text/plain' } });
    expect([queued.status, queued.json.code]).toEqual([413, 'payload_too_large']);
    const sync = await http(`${base}/v1/functions/echo/invocations`, { method: 'POST', body: big, headers: { 'content-type': 'text/plain' } });
    expect(sync.status).toBe(200);
    const huge = await http(`${base}/v1/functions/echo/invocations`, { method: 'POST', body: 'x'.repeat(7 * 1024 * 1024), headers: { 'content-type': 'text/plain' } });
    expect([huge.status, huge.json.code]).toEqual([413, 'payload_too_large']);
  });

  it('takes CloudEvents in binary and structured mode, the data as the event and the attributes beside it', async () => {
    const binary = await http(`${base}/v1/functions/echo/invocations`, {
      method: 'POST',
      body: '{"order":1}',
      headers: { 'x-invocation-type': 'Event', 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'evt-1', 'ce-source': '/shop', 'ce-type': 'order.created', 'ce-tenant': 'acme' },
    });
    expect(binary.status).toBe(202);
    await untilStatus(binary.json.callId, 'succeeded');
    // Queued, then run by a queue-worker: the attributes travel in the AsyncInvocation.
    expect(received.get(binary.json.callId)).toEqual({
      payload: '{"order":1}',
      contentType: 'application/json',
      cloudEvent: { specversion: '1.0', id: 'evt-1', source: '/shop', type: 'order.created', tenant: 'acme', datacontenttype: 'application/json' },
    });
    const structured = await http(`${base}/v1/functions/echo/invocations`, {
      method: 'POST',
      body: JSON.stringify({ specversion: '1.0', id: 'evt-2', source: '/shop', type: 'order.created', data: { order: 2 } }),
      headers: { 'content-type': 'application/cloudevents+json' },
    });
    expect(structured.status).toBe(200);
    const [lastCall] = [...received.entries()].slice(-1);
    expect(lastCall![1]).toEqual({ payload: '{"order":2}', contentType: 'application/json', cloudEvent: { specversion: '1.0', id: 'evt-2', source: '/shop', type: 'order.created' } });
    const broken = await http(`${base}/v1/functions/echo/invocations`, { method: 'POST', body: '{}', headers: { 'ce-specversion': '1.0' } });
    expect([broken.status, broken.json.code]).toEqual([400, 'bad_request']);
  });
});

describe('publishing to NATS directly', () => {
  it('runs a raw event published with the bare NATS client and publishes the outcome on the result subject', async () => {
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    const results = nc.subscribe('replies.contract-1', { max: 1 });
    const headers = transport.headers();
    headers.set('Nats-Msg-Id', 'contract-1');
    headers.set('Content-Type', 'application/json');
    headers.set('Faas-Result-Subject', 'replies.contract-1');
    const ack = await js.publish('faas.invoke.echo', '{"via":"nats"}', { headers });
    expect(ack.stream).toBe('FAAS_INVOCATIONS');
    for await (const message of results) {
      expect(message.headers?.get('X-Call-Id')).toBe('contract-1');
      expect(message.headers?.get('X-Function-Status')).toBe('200');
      expect(JSON.parse(message.string())).toEqual({ run: 1, payload: '{"via":"nats"}' });
    }
    expect((await callOf('contract-1')).json).toMatchObject({ status: 'succeeded', source: 'nats' });
  });
});

describe('triggers', () => {
  it('binds a NATS subject with wildcards to a function', async () => {
    const put = await http(`${base}/v1/triggers/orders`, { method: 'PUT', json: { type: 'nats', subject: 'orders.*.created', function: 'echo' } });
    expect(put.status).toBe(201);
    expect(put.json).toMatchObject({ name: 'orders', type: 'nats', subject: 'orders.*.created', function: 'echo' });
    const refused = await http(`${base}/v1/triggers/bad`, { method: 'PUT', json: { type: 'nats', subject: 'faas.invoke.echo', function: 'echo' } });
    expect([refused.status, refused.json.code]).toEqual([400, 'invalid_trigger_config']);
    const unknown = await http(`${base}/v1/triggers/nobody`, { method: 'PUT', json: { type: 'nats', subject: 'x.y', function: 'nobody' } });
    expect([unknown.status, unknown.json.code]).toEqual([404, 'function_not_found']);

    // Bound once the events stream captures the subject and the trigger's consumer exists.
    const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(nc);
    await eventually(async () => {
      for await (const consumer of jsm.consumers.list('FAAS_EVENTS')) if (consumer.name.startsWith('trigger-orders-')) return true;
      return undefined;
    }, 20_000, 'the trigger to be bound');
    for (const region of ['eu', 'us', 'ap']) nc.publish(`orders.${region}.created`, JSON.stringify({ region }));
    nc.publish('orders.eu.deleted', '{}');
    const calls = await eventually(async () => {
      const listed = (await http(`${base}/v1/calls?function=echo&status=succeeded&limit=1000`)).json.calls.filter((c: { source: string }) => c.source === 'trigger:orders');
      return listed.length >= 3 ? listed : undefined;
    }, 20_000, 'three trigger calls');
    expect(calls.map((call: { result: { payload: string } }) => JSON.parse(call.result.payload).region).sort()).toEqual(['ap', 'eu', 'us']);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await http(`${base}/v1/calls?function=echo&limit=1000`)).json.calls.filter((c: { source: string }) => c.source === 'trigger:orders')).toHaveLength(3);
    expect((await http(`${base}/v1/triggers/orders`, { method: 'DELETE' })).status).toBe(204);
    expect((await http(`${base}/v1/triggers/orders`)).json.code).toBe('trigger_not_found');
  });

  it('fires a cron trigger once per tick with two queue-workers running', { timeout: 150_000 }, async () => {
    const put = await http(`${base}/v1/triggers/tick`, { method: 'PUT', json: { type: 'cron', schedule: '* * * * *', timezone: 'Europe/Paris', function: 'echo', event: { tick: true } } });
    expect(put.status).toBe(201);
    expect(put.json).toMatchObject({ type: 'cron', schedule: '* * * * *', timezone: 'Europe/Paris', event: { tick: true } });
    const bad = await http(`${base}/v1/triggers/bad-cron`, { method: 'PUT', json: { type: 'cron', schedule: '*/5 * * *', function: 'echo' } });
    expect([bad.status, bad.json.code]).toEqual([400, 'invalid_trigger_config']);
    const tickCalls = () => [...runs.keys()].filter((callId) => callId.startsWith('cron-tick-'));
    await eventually(async () => (tickCalls().length >= 1 ? true : undefined), 140_000, 'a cron tick');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const callId of tickCalls()) {
      expect(runs.get(callId)).toBe(1);
      expect(Number(callId.slice('cron-tick-'.length)) % 60_000).toBe(0);
      expect(received.get(callId)?.payload).toBe('{"tick":true}');
    }
    expect((await http(`${base}/v1/triggers/tick`, { method: 'DELETE' })).status).toBe(204);
  });
});
