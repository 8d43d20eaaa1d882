// Nothing lost across a restart of the whole platform: functions, versions,
// aliases, triggers and API tokens (Redis with its append-only file), code
// (stubs' blobs on disk) and accepted asynchronous calls (JetStream file
// storage) are all there after a SIGTERM of everything and after a kill -9
// of everything, and the calls accepted before then complete. A Redis
// without an append-only file is reported in /healthz.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startPlatform, startRedis, startService, type ManagedProcess, type Platform, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'faas-restart-'));
const instanceId = `restart${process.pid.toString(36)}`;
let platform: Platform | undefined;
const cleanups: Array<() => Promise<unknown>> = [];
let readToken = '';

const start = () => startPlatform({ workDir, instanceId, env: { FUNCLET_POOL_SIZE: '1' } });
const url = (route: string) => `${platform!.httpUrl}${route}`;

/** Queues `count` calls while the queue-worker is down, so they are still waiting when everything stops. */
async function acceptCallsNobodyRunsYet(prefix: string, count: number): Promise<string[]> {
  await platform!.services['queue-worker'].process.stop('SIGKILL');
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const callId = `${prefix}-${i}`;
    const accepted = await http(url('/v1/functions/keeper/invocations'), { method: 'POST', headers: { 'x-invocation-type': 'Event', 'x-call-id': callId }, json: { i } });
    expect(accepted.status, accepted.text).toBe(202);
    ids.push(callId);
  }
  return ids;
}

/** Everything written before the stop, read back after the start. */
async function expectEverythingBack(callIds: string[]): Promise<void> {
  const fn = await http(url('/v1/functions/keeper'));
  expect([fn.status, fn.json.handler]).toEqual([200, 'index.handler']);
  expect((await http(url('/v1/functions/keeper/versions'))).json.versions.map((v: { qualifier: string }) => v.qualifier)).toEqual(['1']);
  expect((await http(url('/v1/functions/keeper/aliases/live'))).json).toMatchObject({ name: 'live', functionVersion: '1' });
  expect((await http(url('/v1/triggers/keeper-events'))).json).toMatchObject({ name: 'keeper-events', subject: 'restart.check' });
  // The API token made before, by its own text (stubs has only its hash).
  expect((await http(url('/v1/functions'), { headers: { authorization: `Bearer ${readToken}` } })).status).toBe(200);
  // The code too: the alias runs version 1's bundle.
  expect((await http(url('/v1/functions/keeper:live/invocations'), { method: 'POST', json: { again: true } })).json).toEqual({ kept: { again: true } });
  for (const callId of callIds) {
    const call = await eventually(async () => {
      const answer = await http(url(`/v1/calls/${callId}`));
      return answer.json?.status === 'succeeded' ? answer.json : undefined;
    }, 60_000, `call ${callId} to succeed`);
    expect(call.result).toMatchObject({ kept: { i: expect.any(Number) } });
  }
}

afterAll(async () => {
  await platform?.stop();
  for (const cleanup of cleanups) await cleanup();
  rmSync(workDir, { recursive: true, force: true });
});

describe('a restart of the whole platform', () => {
  it('keeps everything after SIGTERM of everything, and runs the calls it had accepted', async () => {
    platform = await start();
    const upload = await http(url('/v1/code'), { method: 'POST', body: zipBundle({ 'index.js': 'exports.handler = async (event) => ({ kept: event });\n' }) });
    expect(upload.status, upload.text).toBeLessThan(300);
    const put = await http(url('/v1/functions/keeper'), { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128 } });
    expect(put.status, put.text).toBe(201);
    expect((await http(url('/v1/functions/keeper/versions'), { method: 'POST' })).status).toBe(201);
    expect((await http(url('/v1/functions/keeper/aliases/live'), { method: 'PUT', json: { functionVersion: '1' } })).status).toBe(201);
    expect((await http(url('/v1/triggers/keeper-events'), { method: 'PUT', json: { type: 'nats', subject: 'restart.check', function: 'keeper' } })).status).toBe(201);
    readToken = (await http(url('/v1/tokens'), { method: 'POST', json: { name: 'reader', scopes: ['read'] } })).json.token;
    expect(readToken).toMatch(/^faas_/);
    expect((await http(url('/healthz'))).json.warning).toBeUndefined();

    const callIds = await acceptCallsNobodyRunsYet('term', 10);
    await platform.stop();
    platform = await start();
    await expectEverythingBack(callIds);
  }, 180_000);

  it('keeps everything after kill -9 of every process, and runs the calls it had accepted', async () => {
    const callIds = await acceptCallsNobodyRunsYet('kill', 10);
    const running = platform!;
    for (const name of ['httptrigger', 'queue-worker', 'funclet', 'controller', 'stubs'] as const) {
      for (const replica of running.replicas(name)) await replica.process.stop('SIGKILL');
    }
    await running.nats?.stop('SIGKILL');
    await running.redis?.stop('SIGKILL');
    // Nothing of the old platform is stopped cleanly: the new funclet (same id and state) clears its orphans.
    platform = await start();
    await expectEverythingBack(callIds);
  }, 180_000);
});

describe('SIGTERM', () => {
  it('lets the calls an edge and a queue-worker are running finish before they stop', async () => {
    const upload = await http(url('/v1/code'), { method: 'POST', body: zipBundle({ 'index.js': 'exports.handler = async (event, context) => { console.log(`started ${context.callId}`); await new Promise((r) => setTimeout(r, 1500)); return { slept: event }; };\n' }) });
    expect((await http(url('/v1/functions/sleeper'), { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128 } })).status).toBe(201);
    // Warm, so the calls below are running, not starting, when the signal comes.
    expect((await http(url('/v1/functions/sleeper/invocations'), { method: 'POST', json: 0 })).status).toBe(200);

    const queued = await http(url('/v1/functions/sleeper/invocations'), { method: 'POST', headers: { 'x-invocation-type': 'Event', 'x-call-id': 'drained-async' }, json: 2 });
    expect(queued.status).toBe(202);
    await eventually(async () => ((await http(url('/v1/calls/drained-async'))).json?.status === 'running' ? true : undefined), 10_000, 'the queued call to start');
    await platform!.restartService('queue-worker', 'SIGTERM');

    const sync = http(url('/v1/functions/sleeper/invocations'), { method: 'POST', headers: { 'x-call-id': 'drained-sync' }, json: 1 });
    await eventually(async () => ((await http(url('/v1/functions/sleeper/logs?tail=20'))).text.includes('started drained-sync') ? true : undefined), 10_000, 'the sync call to start');
    await platform!.restartService('httptrigger', 'SIGTERM');
    const answer = await sync;
    expect([answer.status, answer.json]).toEqual([200, { slept: 1 }]);

    const call = await eventually(async () => {
      const record = (await http(url('/v1/calls/drained-async'))).json;
      return record?.status === 'succeeded' ? record : undefined;
    }, 30_000, 'the queued call to succeed');
    // Finished by the worker that held it, not run again by the next one.
    expect([call.attempts, call.result]).toEqual([1, { slept: 2 }]);
  }, 60_000);
});

describe('a Redis without an append-only file', () => {
  it('is reported plainly in /healthz and the log', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faas-volatile-'));
    const port = await freePort();
    const redis: ManagedProcess = await startRedis(port, dir);
    cleanups.push(async () => {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: `faas-${instanceId}-volatile:` };
    const stubs: RunningService = await startService('stubs', { ...env, STUBS_LISTEN: '127.0.0.1:0', STUBS_DATA_DIR: path.join(dir, 'stubs') });
    cleanups.unshift(() => stubs.process.stop());
    const edge: RunningService = await startService('httptrigger', { ...env, FAAS_AUTH: 'off', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', STUBS_ADDRESS: stubs.address, NATS_URL: 'nats://127.0.0.1:1' });
    cleanups.unshift(() => edge.process.stop());
    const health = (await http(`http://${edge.address}/healthz`)).json;
    expect(health).toMatchObject({ status: 'ok', registry: 'not durable' });
    expect(health.warning).toContain('appendonly=no');
    expect(stubs.process.output).toContain('appendonly=no');
  });
});
