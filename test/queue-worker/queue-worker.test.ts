// queue-worker as its own process against a real nats-server and
// redis-server, with a tiny in-test Controller standing in for the
// scheduler.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import {
  AsyncInvocationSchema,
  CallStatus,
  Controller,
  FunctionConfigSchema,
  InvocationKind,
  Stubs,
  QueueWorker,
  addService,
  create,
  createClient,
  grpc,
  listen,
  shutdown,
  toBinary,
  type CallRecord,
  type Client,
  type Invocation,
} from '@faas/protocol';
import * as jetstreamModule from '@nats-io/jetstream';
import * as transport from '@nats-io/transport-node';
import { freePort, startNats, startRedis, startService, type ManagedProcess, type RunningService } from '@faas/launcher';
import { noAttachments, placedCallsAnsweredBy } from '../support/fake-streams.js';

let workDir: string;
let nats: ManagedProcess;
let redis: ManagedProcess;
let controllerServer: grpc.Server;
let queueWorker: RunningService;
let calls: Client<typeof QueueWorker extends { method: infer M } ? M : never>;
let nc: Awaited<ReturnType<typeof transport.connect>>;
let natsUrl: string;
let redisPort: number;

/** Invocations the fake controller saw, by call id. */
const invocationsByCallId = new Map<string, number>();
const traceparentByCallId = new Map<string, string>();
/** When the fake controller received each run of a call. */
const invokedAtMs = new Map<string, number[]>();
/** Far above the backoff the function's policy draws for a first throttle (≤ 200 ms). */
const AT_LIMIT_RETRY_AFTER_MS = 2_500;

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-qw-test-'));
  const natsPort = await freePort();
  redisPort = await freePort();
  nats = await startNats(natsPort, path.join(workDir, 'nats'));
  redis = await startRedis(redisPort, path.join(workDir, 'redis'));
  natsUrl = `nats://127.0.0.1:${natsPort}`;

  controllerServer = new grpc.Server();
  const invoke = async (request: { invocation?: Invocation }, context: { metadata: grpc.Metadata }) => {
      const invocation = request.invocation!;
      const seen = (invocationsByCallId.get(invocation.callId) ?? 0) + 1;
      invocationsByCallId.set(invocation.callId, seen);
      const traceparent = context.metadata.get('traceparent')[0];
      if (typeof traceparent === 'string') traceparentByCallId.set(invocation.callId, traceparent);
      (invokedAtMs.get(invocation.callId) ?? invokedAtMs.set(invocation.callId, []).get(invocation.callId)!).push(Date.now());
      if (invocation.functionName === 'flaky' && seen <= 2) throw new PlatformError('bad_gateway', `flaky attempt ${seen}`);
      if (invocation.functionName === 'at-limit' && seen === 1 && invocation.callId === 'limit-1') {
        // As a controller answers a call that waited its queue's deadline at the function's limit.
        throw new PlatformError('too_many_requests', 'at-limit waited its queue deadline at max_concurrency', { retryAfterMs: AT_LIMIT_RETRY_AFTER_MS });
      }
      if (invocation.functionName === 'thrower') {
        return { result: { callId: invocation.callId, functionError: { type: 'TypeError', message: 'nope' } } };
      }
      const text = new TextDecoder().decode(invocation.payload);
      const result = {
        reversed: [...text].reverse().join(''),
        kind: InvocationKind[invocation.kind],
        contentType: invocation.contentType,
        path: invocation.http?.path,
      };
      return { result: { callId: invocation.callId, result: new TextEncoder().encode(JSON.stringify(result)), durationSeconds: 0.01 } };
  };
  addService(controllerServer, Controller, {
    invoke,
    calls: placedCallsAnsweredBy(invoke),
    attach: noAttachments,
  });
  // The worker reads each function's async policy and limits from stubs.
  const notHere = async () => {
    throw new PlatformError('bad_request', 'not in this test');
  };
  addService(controllerServer, Stubs, {
    async getFunction({ name }) {
      return { function: create(FunctionConfigSchema, { name, runtime: 'nodejs', handler: 'index.handler', maxConcurrency: 10, asyncPolicy: { baseDelayMs: 200, maxDelayMs: 1_000 } }) };
    },
    async listTriggers() {
      return { triggers: [] };
    },
    putCode: notHere,
    // eslint-disable-next-line require-yield
    async *getCode() {
      throw new PlatformError('bad_request', 'not in this test');
    },
    putFunction: notHere,
    listFunctions: notHere,
    deleteFunction: notHere,
    putRuntime: notHere,
    getRuntime: notHere,
    listRuntimes: notHere,
    putTrigger: notHere,
    getTrigger: notHere,
    deleteTrigger: notHere,
    publishVersion: notHere,
    listVersions: notHere,
    deleteVersion: notHere,
    putAlias: notHere,
    getAlias: notHere,
    listAliases: notHere,
    deleteAlias: notHere,
    putSecret: notHere,
    listSecrets: notHere,
    deleteSecret: notHere,
    getSecretValues: notHere,
    getRegistryStatus: notHere,
  });
  const controllerAddress = await listen(controllerServer, '127.0.0.1:0');

  queueWorker = await startService('queue-worker', {
    QUEUE_WORKER_LISTEN: '127.0.0.1:0',
    NATS_URL: natsUrl,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_KEY_PREFIX: 'qwtest:',
    CONTROLLER_ADDRESS: controllerAddress,
    STUBS_ADDRESS: controllerAddress,
    QUEUE_WORKER_CONCURRENCY: '4',
    QUEUE_WORKER_MAX_ATTEMPTS: '5',
    LOG_LEVEL: 'info',
  });
  calls = createClient(QueueWorker, queueWorker.address);
  nc = await transport.connect({ servers: natsUrl });
});

afterAll(async () => {
  await nc?.close();
  calls?.close();
  const exit = await queueWorker?.process.stop();
  if (controllerServer) await shutdown(controllerServer, 1_000);
  await nats?.stop();
  await redis?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  // A clean shutdown is part of the contract.
  expect(exit?.code).toBe(0);
});

async function waitForStatus(callId: string, status: CallStatus, timeoutMs = 20_000): Promise<CallRecord> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const { call } = await calls.getCall({ callId });
      last = call;
      if (call?.status === status) return call;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`call ${callId} did not reach ${CallStatus[status]}; last seen: ${String(last instanceof Error ? last.message : JSON.stringify(last, (_, v) => (typeof v === 'bigint' ? String(v) : v)))}`);
}

/** The call is waiting out a 429: back to queued with one throttle counted. */
async function eventuallyThrottled(callId: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { call } = await calls.getCall({ callId }).catch(() => ({ call: undefined }));
    if (call && call.throttles > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`call ${callId} was never throttled`);
}

const resultOf = (call: CallRecord) => JSON.parse(new TextDecoder().decode(call.result));

describe('queue-worker', () => {
  it('runs a raw event published on faas.invoke.<name>', async () => {
    const js = jetstreamModule.jetstream(nc);
    const headers = transport.headers();
    headers.set('Content-Type', 'application/json');
    await js.publish('faas.invoke.echo', '"hello"', { msgID: 'raw-1', headers });
    const call = await waitForStatus('raw-1', CallStatus.SUCCEEDED);
    expect(resultOf(call)).toEqual({ reversed: '"olleh"', kind: 'EVENT', contentType: 'application/json' });
    expect(call).toMatchObject({ callId: 'raw-1', functionName: 'echo', attempts: 1 });
    expect(call.queuedAtMs).toBeGreaterThan(0n);
    expect(call.startedAtMs).toBeGreaterThanOrEqual(call.queuedAtMs);
    expect(call.finishedAtMs).toBeGreaterThanOrEqual(call.startedAtMs);
  });

  it('names a call without a message id after its stream sequence', async () => {
    const ack = await jetstreamModule.jetstream(nc).publish('faas.invoke.echo', 'abc');
    const call = await waitForStatus(`nats-${ack.seq}`, CallStatus.SUCCEEDED);
    expect(resultOf(call).reversed).toBe('cba');
  });

  it('runs an AsyncInvocation envelope, HTTP kind included', async () => {
    const body = toBinary(
      AsyncInvocationSchema,
      create(AsyncInvocationSchema, {
        invocation: {
          functionName: 'echo',
          callId: 'env-1',
          kind: InvocationKind.HTTP,
          payload: new TextEncoder().encode('ping'),
          http: { method: 'POST', path: '/hook', rawQuery: '', headers: {} },
        },
        queuedAtMs: BigInt(Date.now()),
      }),
    );
    const headers = transport.headers();
    headers.set('Faas-Envelope', 'faas.v1.AsyncInvocation');
    await jetstreamModule.jetstream(nc).publish('faas.invoke.echo', body, { msgID: 'env-1', headers });
    const call = await waitForStatus('env-1', CallStatus.SUCCEEDED);
    expect(resultOf(call)).toEqual({ reversed: 'gnip', kind: 'HTTP', contentType: '', path: '/hook' });
  });

  it('retries passing platform failures and succeeds on the third attempt', async () => {
    await jetstreamModule.jetstream(nc).publish('faas.invoke.flaky', '"x"', { msgID: 'flaky-1' });
    const call = await waitForStatus('flaky-1', CallStatus.SUCCEEDED, 30_000);
    expect(call.attempts).toBe(3);
    expect(invocationsByCallId.get('flaky-1')).toBe(3);
    expect(call.errorCode).toBe('');
  });

  it('waits out a controller\'s 429 for its retryAfterMs without using an attempt, holding the function\'s next call too', async () => {
    const js = jetstreamModule.jetstream(nc);
    await js.publish('faas.invoke.at-limit', '"a"', { msgID: 'limit-1' });
    await eventuallyThrottled('limit-1');
    // Queued while the function's gate in this worker is paused for the 429's wait.
    await js.publish('faas.invoke.at-limit', '"b"', { msgID: 'limit-2' });
    const throttled = await waitForStatus('limit-1', CallStatus.SUCCEEDED);
    const next = await waitForStatus('limit-2', CallStatus.SUCCEEDED);
    expect(throttled).toMatchObject({ attempts: 1, throttles: 1, errorCode: '' });
    expect(throttled.attemptErrors.map((error) => error.errorCode)).toEqual(['too_many_requests']);
    expect(next).toMatchObject({ attempts: 1, throttles: 0 });
    const [refusedAt, retriedAt] = invokedAtMs.get('limit-1')!;
    expect(retriedAt! - refusedAt!).toBeGreaterThanOrEqual(AT_LIMIT_RETRY_AFTER_MS);
    expect(invokedAtMs.get('limit-2')![0]! - refusedAt!).toBeGreaterThanOrEqual(AT_LIMIT_RETRY_AFTER_MS);
  });

  it('records a function error as failed, without retrying', async () => {
    await jetstreamModule.jetstream(nc).publish('faas.invoke.thrower', '{}', { msgID: 'throw-1' });
    const call = await waitForStatus('throw-1', CallStatus.FAILED);
    expect(call.functionError).toMatchObject({ type: 'TypeError', message: 'nope' });
    expect(call.attempts).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(invocationsByCallId.get('throw-1')).toBe(1);
  });

  it('runs a message id published twice only once', async () => {
    const js = jetstreamModule.jetstream(nc);
    const first = await js.publish('faas.invoke.echo', '"once"', { msgID: 'dup-1' });
    const second = await js.publish('faas.invoke.echo', '"once"', { msgID: 'dup-1' });
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    await waitForStatus('dup-1', CallStatus.SUCCEEDED);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(invocationsByCallId.get('dup-1')).toBe(1);
  });

  it('records an undecodable envelope as a failed bad request', async () => {
    const headers = transport.headers();
    headers.set('Faas-Envelope', 'faas.v1.AsyncInvocation');
    await jetstreamModule.jetstream(nc).publish('faas.invoke.echo', new Uint8Array([0xff, 0xff, 0xff]), { msgID: 'junk-1', headers });
    const call = await waitForStatus('junk-1', CallStatus.FAILED);
    expect(call.errorCode).toBe('bad_request');
    expect(invocationsByCallId.has('junk-1')).toBe(false);
  });

  it('continues the publisher trace into Controller.Invoke', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4736';
    const headers = transport.headers();
    headers.set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    await jetstreamModule.jetstream(nc).publish('faas.invoke.echo', '"t"', { msgID: 'trace-1', headers });
    await waitForStatus('trace-1', CallStatus.SUCCEEDED);
    expect(traceparentByCallId.get('trace-1')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
  });

  it('keeps a call published while Redis is down and runs it once Redis is back', async () => {
    await redis.stop();
    await jetstreamModule.jetstream(nc).publish('faas.invoke.echo', '"later"', { msgID: 'redis-down-1' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(invocationsByCallId.has('redis-down-1')).toBe(false);
    redis = await startRedis(redisPort, path.join(workDir, 'redis'));
    const call = await waitForStatus('redis-down-1', CallStatus.SUCCEEDED, 40_000);
    expect(resultOf(call).reversed).toBe('"retal"');
    expect(call.attempts).toBe(1);
  });

  it('leaves both consumers with nothing pending and the stream keeping its calls for the retention', async () => {
    const jsm = await jetstreamModule.jetstreamManager(nc);
    const deadline = Date.now() + 20_000;
    let left: Record<string, number> = {};
    while (Date.now() < deadline) {
      left = {};
      for (const name of ['tracker', 'worker']) {
        const consumer = await jsm.consumers.info('FAAS_INVOCATIONS', name);
        left[name] = consumer.num_pending + consumer.num_ack_pending;
      }
      if (left.tracker === 0 && left.worker === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(left).toEqual({ tracker: 0, worker: 0 });
    const stream = await jsm.streams.info('FAAS_INVOCATIONS');
    expect(stream.config).toMatchObject({ retention: 'limits', max_age: 86_400_000 * 1_000_000 });
    expect(stream.state.messages).toBeGreaterThan(0);
  });

  it('answers call_not_found for an unknown call id', async () => {
    await expect(calls.getCall({ callId: 'never-published' })).rejects.toMatchObject({ code: 'call_not_found' });
  });
});
