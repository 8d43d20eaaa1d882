// What both benchmarks share: a keep-alive HTTP client that times requests,
// percentiles, deploying functions through the public API, and the small
// host-side helpers the baselines need. Node builtins plus fflate only.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { adminTokenFor } from '@faas/launcher';

// One connection per request in flight, reused: the cost measured is the
// platform's, not TCP handshakes (the baseline is timed the same way).
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });

/** One HTTP request; resolves with status, headers, text and the client-side milliseconds. */
export function send(url, { method = 'GET', body, headers = {} } = {}) {
  const payload = body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const allHeaders = { ...headers };
  // The platform this process started, or FAAS_TOKEN for one started elsewhere (--url).
  const token = adminTokenFor(url) ?? process.env.FAAS_TOKEN;
  if (token && !allHeaders.authorization) allHeaders.authorization = `Bearer ${token}`;
  if (payload !== undefined) {
    if (!allHeaders['content-type'] && typeof body !== 'string' && !(body instanceof Uint8Array)) allHeaders['content-type'] = 'application/json';
    allHeaders['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { method, headers: allHeaders, agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const ms = performance.now() - started;
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, ms });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export function closeClient() {
  agent.destroy();
}

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, n: sorted.length };
}

export const fmt = (ms) => (Number.isFinite(ms) ? (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)) : '–');

export function statLine(label, stats, unit = 'ms') {
  return `${label.padEnd(58)} p50 ${fmt(stats.p50).padStart(7)} ${unit}  p99 ${fmt(stats.p99).padStart(7)} ${unit}  max ${fmt(stats.max).padStart(7)} ${unit}  n=${stats.n}`;
}

/** "PASS"/"MISS" with the target beside it: `value` must be at most `limit`. */
export function verdict(value, limit, what) {
  return `${value <= limit ? 'PASS' : 'MISS'}  ${what}: ${fmt(value)} (target ≤ ${limit})`;
}

/** "PASS"/"MISS" with the target beside it: `value` must be at least `limit`. */
export function verdictAtLeast(value, limit, what) {
  return `${value >= limit ? 'PASS' : 'MISS'}  ${what}: ${value.toFixed(3)} (target ≥ ${limit})`;
}

/** A zip holding one ESM handler; `tag` makes the bytes (so the digest) unique. */
export function handlerBundle(tag, source = `export const handler = async (event) => ({ ok: true, tag: ${JSON.stringify(tag)}, echo: event });\n`) {
  return zipSync({ 'index.mjs': strToU8(`// ${tag}\n${source}`) });
}

export async function uploadCode(baseUrl, bundle) {
  const answer = await send(`${baseUrl}/v1/code`, { method: 'POST', body: bundle, headers: { 'content-type': 'application/zip' } });
  if (answer.status >= 300) throw new Error(`code upload failed: ${answer.status} ${answer.text}`);
  return answer.json.digest;
}

export async function deployFunction(baseUrl, name, digest, config = {}) {
  const answer = await send(`${baseUrl}/v1/functions/${name}`, {
    method: 'PUT',
    body: { runtime: 'nodejs', handler: 'index.handler', code: { digest }, memoryMb: 64, timeoutSeconds: 30, ...config },
  });
  if (answer.status >= 300) throw new Error(`deploy of ${name} failed: ${answer.status} ${answer.text}`);
  return answer.json;
}

export function invokeFunction(baseUrl, name, event = {}) {
  return send(`${baseUrl}/v1/functions/${name}/invocations`, { method: 'POST', body: event });
}

/** httptrigger's own view of a request, from its x-duration-seconds header. */
export function serverMs(answer) {
  const seconds = Number(answer.headers['x-duration-seconds']);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

/** A unique suffix, so that names never collide with an earlier run against the same platform. */
export const runTag = Date.now().toString(36);

const BASELINE_SERVER = `
const http = require('node:http');
const body = JSON.stringify({ ok: true });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body));
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
`;

/** A plain node:http server in its own process, answering a tiny JSON: what any HTTP hop costs here. */
export async function startBaselineServer() {
  const child = spawn(process.execPath, ['-e', BASELINE_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    },
  };
}

/** Proportional set size of one process in bytes (0 when it is gone). */
export function pssBytes(pid) {
  return smapsRollup(pid).Pss ?? 0;
}

/** Pss, Rss and Private_* of a process from /proc/<pid>/smaps_rollup, in bytes. */
export function smapsRollup(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return {};
  }
  const values = {};
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+) kB/.exec(line);
    if (match) values[match[1]] = Number(match[2]) * 1024;
  }
  return values;
}

/** Private (unshared) bytes of a process: what killing it alone would free. */
export function ussBytes(pid) {
  const rollup = smapsRollup(pid);
  return (rollup.Private_Clean ?? 0) + (rollup.Private_Dirty ?? 0);
}

export const mb = (bytes) => bytes / (1024 * 1024);

export { sleep };

/** Runs `work` with at most `limit` of them in flight. */
export async function mapLimited(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  });
  await Promise.all(runners);
  return results;
}

/**
 * The command line by node:util parseArgs `options`, with --help added: a
 * bad command line prints the problem and the usage and exits 2.
 */
export function argumentsOrExit(options, usage) {
  let values;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', default: false } } }));
  } catch (error) {
    console.error(`${error.message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}
