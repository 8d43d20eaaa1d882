#!/usr/bin/env node
// Warm invocation latency, one call at a time, at the two front doors:
// Controller.Invoke over gRPC and POST /v1/functions/{name}/invocations over
// HTTP. In the same run, as yardsticks: a bare gRPC round trip to the same
// controller (Health/Check) and the same HTTP client against httptrigger's
// /healthz, so the platform's own share can be read off as a difference.
//
// Usage (the platform must be built first; needs root, runc, redis-server and
// nats-server like the integration tests):
//   npm run build && node bench/warm-path.mjs [--calls 1000]
import { Agent, request } from 'node:http';
import { strToU8, zipSync } from 'fflate';
import { startPlatform } from '@faas/launcher';
import { Controller, Health, InvocationKind, createClient } from '@faas/protocol';

const callsArg = process.argv.indexOf('--calls');
const CALLS = callsArg > 0 ? Number(process.argv[callsArg + 1]) : 1000;
const WARMUP = 50;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function send(url, method = 'GET', body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': contentType, 'content-length': String(body.length) };
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function time(label, n, once) {
  for (let i = 0; i < WARMUP; i++) await once();
  const samples = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await once();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (p) => samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)];
  console.log(`${label.padEnd(44)} p50 ${at(50).toFixed(2).padStart(6)} ms   p99 ${at(99).toFixed(2).padStart(6)} ms   n=${n}`);
}

const platform = await startPlatform();
const controller = createClient(Controller, platform.addresses.controller);
const health = createClient(Health, platform.addresses.controller);
try {
  const bundle = zipSync({ 'index.mjs': strToU8('export const handler = async (event) => ({ ok: true, echo: event });\n') });
  const upload = await send(`${platform.httpUrl}/v1/code`, 'POST', Buffer.from(bundle), 'application/zip');
  if (upload.status >= 300) throw new Error(`upload: ${upload.status} ${upload.text}`);
  const digest = JSON.parse(upload.text).digest;
  const config = JSON.stringify({ runtime: 'nodejs', handler: 'index.handler', code: { digest }, memoryMb: 64 });
  const deployed = await send(`${platform.httpUrl}/v1/functions/f`, 'PUT', Buffer.from(config));
  if (deployed.status >= 300) throw new Error(`deploy: ${deployed.status} ${deployed.text}`);

  const payload = Buffer.from('{"n":1}');
  const invokeGrpc = async () => {
    const answer = await controller.invoke({ invocation: { functionName: 'f', kind: InvocationKind.EVENT, payload, contentType: 'application/json' } }, { timeoutMs: 30_000 });
    if (answer.result?.functionError) throw new Error(`function failed: ${answer.result.functionError.message}`);
  };
  const invokeHttp = async () => {
    const answer = await send(`${platform.httpUrl}/v1/functions/f/invocations`, 'POST', payload);
    if (answer.status !== 200) throw new Error(`invoke: ${answer.status} ${answer.text}`);
  };

  await time('baseline: gRPC Health/Check to controller', CALLS, () => health.check({ service: '' }));
  await time('baseline: HTTP GET httptrigger /healthz', CALLS, () => send(`${platform.httpUrl}/healthz`));
  await time('Controller.Invoke (gRPC, warm)', CALLS, invokeGrpc);
  await time('POST /v1/functions/f/invocations (warm)', CALLS, invokeHttp);
} finally {
  controller.close();
  health.close();
  agent.destroy();
  await platform.stop();
}
