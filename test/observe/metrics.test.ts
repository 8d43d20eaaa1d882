// After a mixed load (warm and cold sync calls, a function error, a platform
// error, queued calls that succeed with a callback or are retried and
// dead-lettered), every service's /metrics shows each series the issue lists,
// with the counts that load must have produced.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';
import { hasSample, parsePrometheus, sampleSum, type Sample } from '../support/prometheus.js';

let platform: Platform;
let callbackTarget: Server;
let callbackUrl: string;
let callbacksReceived = 0;

async function deploy(name: string, source: string, extra: Record<string, unknown> = {}) {
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': source }) });
  expect(upload.status, upload.text).toBeLessThan(300);
  const put = await http(`${platform.httpUrl}/v1/functions/${name}`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, ...extra } });
  expect(put.status, put.text).toBeLessThan(300);
}

async function scrape(url: string): Promise<Sample[]> {
  const answer = await fetch(url);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await answer.text());
}

const metricsOf = (service: 'controller' | 'funclet' | 'stubs' | 'queue-worker') => {
  const address = platform.services[service].metricsAddress;
  expect(address, `${service} logs its metrics address`).toBeTruthy();
  return scrape(`http://${address}/metrics`);
};

beforeAll(async () => {
  callbackTarget = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      callbacksReceived++;
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => callbackTarget.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callbackTarget.address() as AddressInfo).port}/done`;
  platform = await startPlatform();
  await deploy('echo', "exports.handler = async (event, context) => { console.log('echo got', JSON.stringify(event), 'in', context.callId); return event; };");
  await deploy('broken', "exports.handler = async () => { throw new TypeError('broken on purpose'); };", {
    async: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100, retryFunctionErrors: true },
  });

  // One sandbox at most: of two calls at once, one waits in the controller's queue.
  await deploy('single', 'exports.handler = async () => { await new Promise((r) => setTimeout(r, 400)); return 1; };', { maxConcurrency: 1 });
  await http(`${platform.httpUrl}/v1/functions/single/invocations`, { method: 'POST', json: {} });
  const both = await Promise.all([0, 1].map(() => http(`${platform.httpUrl}/v1/functions/single/invocations`, { method: 'POST', json: {} })));
  for (const answer of both) expect(answer.status, answer.text).toBe(200);

  // Sync: the first call of each function is a cold start, the rest warm.
  for (let i = 0; i < 5; i++) {
    const answer = await http(`${platform.httpUrl}/v1/functions/echo/invocations`, { method: 'POST', json: { i }, headers: { 'x-call-id': `echo-call-${i}` } });
    expect(answer.status, answer.text).toBe(200);
  }
  const httpCall = await http(`${platform.httpUrl}/function/echo`, { method: 'POST', body: 'hi' });
  expect(httpCall.status, httpCall.text).toBe(200);
  const failed = await http(`${platform.httpUrl}/v1/functions/broken/invocations`, { method: 'POST', json: {} });
  expect(failed.headers.get('x-function-error')).toBe('TypeError');
  const missing = await http(`${platform.httpUrl}/v1/functions/nowhere/invocations`, { method: 'POST', json: {} });
  expect(missing.status).toBe(404);

  // Async: one succeeds and calls back, one fails twice and is dead-lettered.
  const queued = await http(`${platform.httpUrl}/async-function/echo`, { method: 'POST', body: '{}', headers: { 'x-callback-url': callbackUrl } });
  expect(queued.status, queued.text).toBe(202);
  const doomed = await http(`${platform.httpUrl}/v1/functions/broken/invocations`, { method: 'POST', json: {}, headers: { 'x-invocation-type': 'Event' } });
  expect(doomed.status, doomed.text).toBe(202);
  await eventually(async () => ((await http(`${platform.httpUrl}/v1/calls/${doomed.json.callId}`)).json?.status === 'dead-lettered' ? true : undefined), 30_000, 'the broken call dead-lettered');
  await eventually(async () => (callbacksReceived > 0 ? true : undefined), 30_000, 'the callback delivered');
}, 180_000);

afterAll(async () => {
  await platform?.stop();
  callbackTarget?.close();
});

describe('httptrigger /metrics', () => {
  it('counts invocations by function, route kind and outcome, with durations', async () => {
    const samples = await scrape(`${platform.httpUrl}/metrics`);
    expect(sampleSum(samples, 'faas_invocations_total', { function: 'echo', kind: 'event', outcome: 'ok' })).toBe(5);
    expect(sampleSum(samples, 'faas_invocations_total', { function: 'echo', kind: 'http', outcome: 'ok' })).toBe(1);
    expect(sampleSum(samples, 'faas_invocations_total', { function: 'broken', kind: 'event', outcome: 'function_error' })).toBe(1);
    // A name that is no function's is not a label value: clients could make a series per string.
    expect(sampleSum(samples, 'faas_invocations_total', { function: '', outcome: 'function_not_found' })).toBe(1);
    expect(hasSample(samples, 'faas_invocations_total', { function: 'nowhere' })).toBe(false);
    expect(sampleSum(samples, 'faas_invocations_total', { kind: 'async', outcome: 'queued' })).toBe(2);
    expect(sampleSum(samples, 'faas_invocation_duration_seconds_count', { function: 'echo', kind: 'event', outcome: 'ok' })).toBe(5);
    const seconds = sampleSum(samples, 'faas_invocation_duration_seconds_sum', { function: 'echo', kind: 'event', outcome: 'ok' });
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(60);
    expect(sampleSum(samples, 'faas_invocation_duration_seconds_bucket', { function: 'echo', kind: 'event', outcome: 'ok', le: '+Inf' })).toBe(5);
    // echo's first sync call and broken's only one started sandboxes.
    expect(sampleSum(samples, 'faas_invocation_cold_starts_total', { function: 'echo' })).toBe(1);
    expect(sampleSum(samples, 'faas_invocation_cold_starts_total', { function: 'broken' })).toBe(1);
  });

  it('speaks OpenFaaS gateway names', async () => {
    const samples = await scrape(`${platform.httpUrl}/metrics`);
    expect(sampleSum(samples, 'gateway_function_invocation_total', { function_name: 'echo', code: '200' })).toBe(6);
    expect(sampleSum(samples, 'gateway_function_invocation_total', { function_name: '', code: '404' })).toBe(1);
    expect(sampleSum(samples, 'gateway_functions_seconds_count', { function_name: 'echo', code: '200' })).toBe(6);
    expect(sampleSum(samples, 'gateway_service_count', { function_name: 'echo' })).toBeGreaterThanOrEqual(1);
  });
});

describe('each service\'s metrics port', () => {
  it('funclet: cold starts and their durations, the pool, sandboxes by state, memory', async () => {
    const samples = await metricsOf('funclet');
    // The edge's sandbox, and perhaps one for the queue-worker's call (it holds leases of its own).
    const echoColdStarts = sampleSum(samples, 'faas_cold_starts_total', { function: 'echo', runtime: 'nodejs' });
    expect(echoColdStarts).toBeGreaterThanOrEqual(1);
    expect(echoColdStarts).toBeLessThanOrEqual(2);
    expect(sampleSum(samples, 'faas_cold_start_seconds_count', { function: 'echo' })).toBe(echoColdStarts);
    const coldSeconds = sampleSum(samples, 'faas_cold_start_seconds_sum', { function: 'echo' });
    expect(coldSeconds).toBeGreaterThan(0);
    expect(coldSeconds).toBeLessThan(30);
    expect(sampleSum(samples, 'faas_pool_target', { runtime: 'nodejs' })).toBeGreaterThan(0);
    expect(hasSample(samples, 'faas_pool_sandboxes', { runtime: 'nodejs' })).toBe(true);
    expect(sampleSum(samples, 'faas_sandboxes', { function: 'echo', state: 'idle' })).toBeGreaterThanOrEqual(1);
    const capacity = sampleSum(samples, 'faas_funclet_memory_capacity_bytes');
    const used = sampleSum(samples, 'faas_funclet_memory_used_bytes');
    expect(capacity).toBeGreaterThan(0);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(capacity);
  });

  it('controller: wait queues and the sandboxes it places on', async () => {
    const samples = await metricsOf('controller');
    expect(sampleSum(samples, 'faas_controller_sandboxes', { function: 'echo' })).toBeGreaterThanOrEqual(1);
    expect(hasSample(samples, 'faas_wait_queue_length', { function: 'echo' })).toBe(true);
    expect(sampleSum(samples, 'faas_wait_queue_length')).toBe(0);
    // The second of single's simultaneous calls waited for the first's slot.
    expect(sampleSum(samples, 'faas_wait_seconds_count', { function: 'single', outcome: 'granted' })).toBe(1);
    const waited = sampleSum(samples, 'faas_wait_seconds_sum', { function: 'single', outcome: 'granted' });
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThan(30);
    expect(hasSample(samples, 'faas_wait_seconds_count', { function: 'echo' })).toBe(false);
  });

  it('queue-worker: attempts, retries, dead letters, callbacks, queue depth', async () => {
    const samples = await metricsOf('queue-worker');
    expect(sampleSum(samples, 'faas_async_attempts_total', { function: 'echo', outcome: 'ok' })).toBe(1);
    expect(sampleSum(samples, 'faas_async_attempts_total', { function: 'broken', outcome: 'retry' })).toBe(1);
    expect(sampleSum(samples, 'faas_async_attempts_total', { function: 'broken', outcome: 'dead_letter' })).toBe(1);
    expect(sampleSum(samples, 'faas_async_retries_total', { function: 'broken' })).toBe(1);
    expect(sampleSum(samples, 'faas_async_dead_letters_total', { function: 'broken' })).toBe(1);
    expect(sampleSum(samples, 'faas_async_call_seconds_count', { function: 'broken' })).toBe(2);
    expect(sampleSum(samples, 'faas_async_callbacks_total', { outcome: 'delivered' })).toBe(1);
    expect(sampleSum(samples, 'faas_async_queue_depth', { consumer: 'worker' })).toBe(0);
    expect(sampleSum(samples, 'faas_async_dead_letter_depth')).toBe(1);
  });

  it('stubs: serves its registry (process series only) and refuses other paths', async () => {
    const address = platform.services.stubs.metricsAddress!;
    await scrape(`http://${address}/metrics`);
    const other = await http(`http://${address}/elsewhere`);
    expect(other.status).toBe(404);
    expect(other.json.code).toBe('route_not_found');
  });
});

describe('logs by call id', () => {
  it('finds the lines of one call among the function\'s', async () => {
    const lines = await eventually(async () => {
      const answer = await http(`${platform.httpUrl}/v1/functions/echo/logs?callId=echo-call-3`);
      expect(answer.status, answer.text).toBe(200);
      const parsed = answer.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { callId: string; line: string });
      return parsed.length > 0 ? parsed : undefined;
    }, 10_000, 'the log line of echo-call-3');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ callId: 'echo-call-3', line: 'echo got {"i":3} in echo-call-3' });
    const all = await http(`${platform.httpUrl}/v1/functions/echo/logs`);
    expect(all.text.split('\n').filter(Boolean).length).toBeGreaterThan(1);
    const bad = await http(`${platform.httpUrl}/v1/functions/echo/logs?callId=${encodeURIComponent('no spaces')}`);
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('bad_request');
  });
});

describe('invocation history', () => {
  it('lists the last calls of a function, newest first, cold or warm', async () => {
    const answer = await http(`${platform.httpUrl}/v1/functions/echo/history?limit=3`);
    expect(answer.status, answer.text).toBe(200);
    const calls = answer.json.calls as Array<Record<string, unknown>>;
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({ kind: 'async', outcome: 'queued', status: 202 });
    expect(calls[1]).toMatchObject({ kind: 'http', outcome: 'ok', status: 200, coldStart: false });
    expect(typeof calls[1]!.sandboxId).toBe('string');
    expect((calls[1]!.sandboxId as string).length).toBeGreaterThan(0);
    const all = (await http(`${platform.httpUrl}/v1/functions/echo/history`)).json.calls as Array<Record<string, unknown>>;
    expect(all.filter((call) => call.coldStart)).toHaveLength(1);
    expect(all.at(-1)).toMatchObject({ coldStart: true, kind: 'event' });
    const bad = await http(`${platform.httpUrl}/v1/functions/echo/history?limit=0`);
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('bad_request');
  });
});
