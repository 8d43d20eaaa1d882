#!/usr/bin/env node
// Cold and warm invocation latency, measured by a client over HTTP
// (POST /v1/functions/{name}/invocations), with a plain node:http server
// timed by the same client as the yardstick.
//
// Usage (the platform must be built first):
//   npm run build && npm run bench:cold-start
//   node bench/cold-start.mjs [--samples 40] [--pause-ms 300] [--warm 1000] [--burst 100]
//   node bench/cold-start.mjs --url http://127.0.0.1:8080     (an already running platform)
//
// Without --url it starts two platforms of its own (temp dirs, free ports;
// needs root, runc, redis-server and nats-server like the integration
// tests): one with the funclet's default pool, one whose nodejs pool is
// pre-sized for the burst (FUNCLET_POOL_SIZES=nodejs=<burst>, the burst sent
// once it has filled), one with FUNCLET_POOL_SIZE=0.
// With --url it measures pool cold starts, warm invocations and the burst
// only, and names what it could not measure.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  argumentsOrExit,
  closeClient,
  deployFunction,
  fmt,
  handlerBundle,
  invokeFunction,
  runTag,
  send,
  serverMs,
  sleep,
  startBaselineServer,
  statLine,
  summarise,
  uploadCode,
  verdict,
} from './support.mjs';

const USAGE = `usage: npm run build && node bench/cold-start.mjs [--url http://host:8080] [--samples N] [--pause-ms MS] [--warm N] [--burst N] [--memory-mb MB] [--verbose]`;
const TARGETS = { poolP50: 15, poolP99: 50, emptyP50: 150, burstP99: 1000 };
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const args = argumentsOrExit(
  {
    url: { type: 'string', default: '' },
    samples: { type: 'string', default: '40' },
    'pause-ms': { type: 'string', default: '300' },
    warm: { type: 'string', default: '1000' },
    burst: { type: 'string', default: '100' },
    'memory-mb': { type: 'string', default: '64' },
    verbose: { type: 'boolean', default: false },
  },
  USAGE,
);
const options = {
  url: args.url,
  samples: Number(args.samples),
  pauseMs: Number(args['pause-ms']),
  warm: Number(args.warm),
  burst: Number(args.burst),
  memoryMb: Number(args['memory-mb']),
  verbose: args.verbose,
};

const out = (line = '') => console.log(line);
const verdicts = [];
const judge = (value, limit, what) => {
  const line = verdict(value, limit, what);
  verdicts.push(line);
  return line;
};

/** Funclet log lines that time a sandbox becoming ready: the server-side view of a cold start. */
class FuncletTimings {
  constructor() {
    this.fields = new Map();
    this.recording = false;
    /** The nodejs pool's fill level, from the funclet's `pool sandbox ready` lines. */
    this.nodejsPoolReady = 0;
    this.nodejsPoolTarget = 0;
  }
  onLine(source, line) {
    if (options.verbose) process.stderr.write(`[${source}] ${line}\n`);
    if (source !== 'funclet' || !line.startsWith('{')) return;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    if (entry.msg === 'pool sandbox ready' && entry.runtime === 'nodejs' && typeof entry.ready === 'number') {
      this.nodejsPoolReady = entry.ready;
      this.nodejsPoolTarget = entry.target;
    }
    if (!this.recording) return;
    if (!/sandbox (ready|specialised|specialized|taken)/i.test(entry.msg ?? '')) return;
    for (const [key, value] of Object.entries(entry)) {
      if (/Ms$/.test(key) && typeof value === 'number') {
        if (!this.fields.has(key)) this.fields.set(key, []);
        this.fields.get(key).push(value);
      }
    }
  }
  /** Runs `work` with recording on and returns what the funclet logged meanwhile. */
  async during(work) {
    this.fields = new Map();
    this.recording = true;
    try {
      await work();
    } finally {
      this.recording = false;
    }
    return this.fields;
  }
}

async function measureBaseline(samples) {
  const server = await startBaselineServer();
  try {
    for (let i = 0; i < 50; i++) await send(server.url, { method: 'POST', body: { i } });
    const times = [];
    for (let i = 0; i < samples; i++) times.push((await send(server.url, { method: 'POST', body: { i } })).ms);
    return summarise(times);
  } finally {
    await server.stop();
  }
}

/**
 * Never-seen functions, one at a time: each deployed, then (after a pause
 * that lets the funclet's pool refill) invoked once and timed.
 * `sharedDigest`: every function uses that already-cached code, so the
 * sample leaves out the code fetch.
 */
async function coldStarts(baseUrl, label, { sharedDigest } = {}) {
  const client = [];
  const server = [];
  let failures = 0;
  let firstFailure;
  for (let i = 0; i < options.samples; i++) {
    const name = `${label}-${runTag}-${i}`;
    const digest = sharedDigest ?? (await uploadCode(baseUrl, handlerBundle(name)));
    await deployFunction(baseUrl, name, digest, { memoryMb: options.memoryMb });
    await sleep(options.pauseMs);
    const answer = await invokeFunction(baseUrl, name, { i });
    if (answer.status !== 200 || answer.json?.ok !== true) {
      failures++;
      firstFailure ??= `${answer.status} ${answer.text.slice(0, 200)}`;
      continue;
    }
    client.push(answer.ms);
    const ms = serverMs(answer);
    if (ms !== undefined) server.push(ms);
  }
  created.push(...Array.from({ length: options.samples }, (_, i) => `${label}-${runTag}-${i}`));
  return { client: summarise(client), server: summarise(server), failures, firstFailure };
}

async function warmInvocations(baseUrl) {
  const name = `warm-${runTag}`;
  created.push(name);
  await deployFunction(baseUrl, name, await uploadCode(baseUrl, handlerBundle(name)), { memoryMb: options.memoryMb });
  for (let i = 0; i < 50; i++) await invokeFunction(baseUrl, name, { i });
  const client = [];
  const server = [];
  let failures = 0;
  for (let i = 0; i < options.warm; i++) {
    const answer = await invokeFunction(baseUrl, name, { i });
    if (answer.status !== 200) failures++;
    client.push(answer.ms);
    const ms = serverMs(answer);
    if (ms !== undefined) server.push(ms);
  }
  return { client: summarise(client), server: summarise(server), failures };
}

/** `count` distinct functions (distinct code too), deployed first, then all invoked at once. */
async function burst(baseUrl, count, round = 1) {
  const names = Array.from({ length: count }, (_, i) => `burst${round}-${runTag}-${i}`);
  created.push(...names);
  for (const name of names) await deployFunction(baseUrl, name, await uploadCode(baseUrl, handlerBundle(name)), { memoryMb: options.memoryMb });
  await sleep(Math.max(1000, options.pauseMs));
  const started = performance.now();
  const answers = await Promise.all(
    names.map((name, i) => invokeFunction(baseUrl, name, { i }).catch((error) => ({ status: 0, text: String(error), ms: NaN }))),
  );
  const wallMs = performance.now() - started;
  const ok = answers.filter((answer) => answer.status === 200 && answer.json?.ok === true);
  const failed = answers.filter((answer) => !(answer.status === 200 && answer.json?.ok === true));
  const reasons = new Map();
  for (const answer of failed) {
    const reason = `${answer.status} ${answer.json?.code ?? answer.text.slice(0, 80)}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return { stats: summarise(answers.filter((a) => Number.isFinite(a.ms)).map((a) => a.ms)), ok: ok.length, failed: failed.length, reasons, wallMs };
}

function funcletHasPool() {
  try {
    return readFileSync(path.join(REPO_ROOT, 'services/funclet/dist/config.js'), 'utf8').includes('FUNCLET_POOL_SIZE');
  } catch {
    return false;
  }
}

function printCold(title, result, targets) {
  out(statLine(`${title} (client)`, result.client));
  if (result.server.n > 0) out(statLine(`${title} (httptrigger x-duration)`, result.server));
  if (result.failures > 0) out(`  ${result.failures} of ${options.samples} failed; first: ${result.firstFailure}`);
  for (const [limit, p] of targets) out(`  ${judge(result.client[p], limit, `${title} ${p}`)}`);
}

function printFuncletTimings(fields) {
  if (!fields || fields.size === 0) return;
  const parts = [...fields].map(([key, values]) => `${key} p50 ${fmt(summarise(values).p50)}`);
  out(`  funclet log (sandbox ready): ${parts.join(', ')} ms`);
}

/** Functions this run created, removed at the end when running against someone else's platform. */
const created = [];

/** Waits until the funclet logged a nodejs pool of `count` ready sandboxes; returns how long that took (ms). */
async function waitForPool(timings, count, timeoutMs = 180_000) {
  const started = performance.now();
  while (timings.nodejsPoolReady < count) {
    if (performance.now() - started > timeoutMs) throw new Error(`the nodejs pool reached ${timings.nodejsPoolReady} of ${count} in ${timeoutMs} ms`);
    await sleep(200);
  }
  return performance.now() - started;
}

/** Until the nodejs pool has `target` ready or has not grown for 5 s (the budget is full); at most `timeoutMs`. */
async function waitForPoolToSettle(timings, target, timeoutMs = 180_000) {
  const started = performance.now();
  let last = -1;
  let lastChangeMs = started;
  while (timings.nodejsPoolReady < target && performance.now() - started < timeoutMs) {
    if (timings.nodejsPoolReady !== last) {
      last = timings.nodejsPoolReady;
      lastChangeMs = performance.now();
    } else if (performance.now() - lastChangeMs > 5_000) break;
    await sleep(200);
  }
  return performance.now() - started;
}

async function withPlatform(serviceEnv, timings, work) {
  const { startPlatform } = await import('@faas/launcher');
  const platform = await startPlatform({ serviceEnv, onLine: (source, line) => timings.onLine(source, line) });
  try {
    // Let the pool fill and every service warm up its paths before measuring.
    await sleep(2000);
    const warmup = `warmup-${runTag}`;
    const digest = await uploadCode(platform.httpUrl, handlerBundle(warmup));
    await deployFunction(platform.httpUrl, warmup, digest, { memoryMb: options.memoryMb });
    for (let i = 0; i < 20; i++) await invokeFunction(platform.httpUrl, warmup, { i });
    await sleep(1000);
    return await work(platform.httpUrl, digest);
  } finally {
    await platform.stop();
  }
}

async function main() {
  out(`bench/cold-start  ${new Date().toISOString()}  node ${process.version}  samples=${options.samples} pause=${options.pauseMs}ms warm=${options.warm} burst=${options.burst} memoryMb=${options.memoryMb}`);
  const external = Boolean(options.url);
  if (!external) {
    out(funcletHasPool()
      ? 'funclet: pool present (FUNCLET_POOL_SIZE in its config); platform 1 uses the default pool, platform 2 FUNCLET_POOL_SIZE=0'
      : 'funclet: NO pool in this build (FUNCLET_POOL_SIZE unknown to it): "pool" and "empty pool" measure the same thing');
  } else {
    out(`platform: ${options.url} (already running)`);
  }

  const baseline = await measureBaseline(options.warm);
  out();
  out(statLine('baseline: plain node:http server, tiny JSON', baseline));

  const timings = new FuncletTimings();
  const measurePool = async (baseUrl, sharedDigest) => {
    let fresh, cached;
    const freshTimings = await timings.during(async () => (fresh = await coldStarts(baseUrl, 'pool-new')));
    const cachedTimings = await timings.during(async () => (cached = await coldStarts(baseUrl, 'pool-cached', { sharedDigest })));
    const warm = await warmInvocations(baseUrl);
    let burstResult;
    const burstTimings = await timings.during(async () => (burstResult = await burst(baseUrl, options.burst)));
    // The same burst again (new functions) once the pool has grown by what the first one missed and refilled:
    // what a platform whose bursts recur sees after its first.
    let learned;
    if (!external) {
      await sleep(1000);
      // Up to its target, or as far as the memory budget lets it (it stops growing).
      const fillMs = await waitForPoolToSettle(timings, timings.nodejsPoolTarget);
      const readyBefore = timings.nodejsPoolReady;
      await sleep(1000);
      let againResult;
      const againTimings = await timings.during(async () => (againResult = await burst(baseUrl, options.burst, 2)));
      learned = { burst: againResult, burstTimings: againTimings, fillMs, target: timings.nodejsPoolTarget, ready: readyBefore };
    }
    return { fresh, cached, warm, burst: burstResult, freshTimings, cachedTimings, burstTimings, learned };
  };

  let pool;
  let empty;
  let presized;
  if (external) {
    const base = options.url.replace(/\/+$/, '');
    const digest = await uploadCode(base, handlerBundle(`shared-${runTag}`));
    // Caches the shared code on the funclet, so later samples leave the fetch out.
    await deployFunction(base, `shared-${runTag}`, digest, { memoryMb: options.memoryMb });
    created.push(`shared-${runTag}`);
    await invokeFunction(base, `shared-${runTag}`, {});
    try {
      pool = await measurePool(base, digest);
    } finally {
      for (const name of created) await send(`${base}/v1/functions/${name}`, { method: 'DELETE' }).catch(() => undefined);
    }
  } else {
    pool = await withPlatform({}, timings, measurePool);
    // The burst again, on a funclet whose nodejs pool was sized for it and had filled before it came.
    presized = await withPlatform({ funclet: { FUNCLET_POOL_SIZES: `nodejs=${options.burst}`, FUNCLET_POOL_MEMORY_MB: String((options.burst + 8) * 64) } }, timings, async (baseUrl) => {
      const fillMs = await waitForPool(timings, options.burst);
      await sleep(1000);
      let burstResult;
      const burstTimings = await timings.during(async () => (burstResult = await burst(baseUrl, options.burst)));
      return { burst: burstResult, burstTimings, fillMs };
    });
    empty = await withPlatform({ funclet: { FUNCLET_POOL_SIZE: '0' } }, timings, async (baseUrl, sharedDigest) => {
      let fresh, cached;
      const freshTimings = await timings.during(async () => (fresh = await coldStarts(baseUrl, 'empty-new')));
      const cachedTimings = await timings.during(async () => (cached = await coldStarts(baseUrl, 'empty-cached', { sharedDigest })));
      return { fresh, cached, freshTimings, cachedTimings };
    });
  }

  out();
  out('(a) pool cold start: first invocation of a never-seen function, one at a time');
  printCold('pool cold, new code (fetch+unpack)', pool.fresh, [[TARGETS.poolP50, 'p50'], [TARGETS.poolP99, 'p99']]);
  printFuncletTimings(pool.freshTimings);
  printCold('pool cold, code already cached', pool.cached, [[TARGETS.poolP50, 'p50'], [TARGETS.poolP99, 'p99']]);
  printFuncletTimings(pool.cachedTimings);

  out();
  out('(b) empty-pool cold start (FUNCLET_POOL_SIZE=0)');
  if (empty) {
    printCold('empty-pool cold, new code', empty.fresh, [[TARGETS.emptyP50, 'p50']]);
    printFuncletTimings(empty.freshTimings);
    printCold('empty-pool cold, code already cached', empty.cached, [[TARGETS.emptyP50, 'p50']]);
    printFuncletTimings(empty.cachedTimings);
  } else {
    out('  not measured: needs a platform started with FUNCLET_POOL_SIZE=0 (run without --url)');
  }

  out();
  out(`(c) warm invocation: ${options.warm} sequential invocations of one warm function`);
  out(statLine('warm invoke (client)', pool.warm.client));
  if (pool.warm.server.n > 0) out(statLine('warm invoke (httptrigger x-duration)', pool.warm.server));
  if (pool.warm.failures > 0) out(`  ${pool.warm.failures} failed`);
  out(`  ratio warm-invoke p50 / baseline p50: ${(pool.warm.client.p50 / baseline.p50).toFixed(1)}x (baseline p50 ${fmt(baseline.p50)} ms)`);

  out();
  out(`(d) ${options.burst} distinct functions (distinct code) invoked at once (Promise.all)`);
  const printBurst = (title, result, timingsOfBurst) => {
    out(`  ${title}: succeeded ${result.ok}, failed ${result.failed}, wall time ${fmt(result.wallMs)} ms`);
    for (const [reason, count] of result.reasons) out(`  failure ${count}x: ${reason}`);
    out(statLine(`${title}: burst per-request latency (client)`, result.stats));
    printFuncletTimings(timingsOfBurst);
    out(`  ${result.failed === 0 ? 'PASS' : 'MISS'}  ${title}: all ${options.burst} succeeded`);
    verdicts.push(`${result.failed === 0 ? 'PASS' : 'MISS'}  ${title}: all ${options.burst} succeeded (${result.ok} ok)`);
    out(`  ${judge(result.stats.p99, TARGETS.burstP99, `${title}: burst p99`)}`);
  };
  printBurst('default pool', pool.burst, pool.burstTimings);
  if (pool.learned) {
    out(`  (after it: the nodejs pool's target grew to ${pool.learned.target}, within FUNCLET_POOL_MEMORY_MB's default; ${pool.learned.ready} were ready after ${fmt(pool.learned.fillMs)} ms)`);
    printBurst('default pool, second burst', pool.learned.burst, pool.learned.burstTimings);
  }
  if (presized) {
    out(`  (pre-sized: FUNCLET_POOL_SIZES=nodejs=${options.burst} with the budget for it, burst sent after the pool had filled, which took ${fmt(presized.fillMs)} ms after start-up + warm-up)`);
    printBurst(`pool pre-sized to ${options.burst}`, presized.burst, presized.burstTimings);
  }

  if (external) {
    out();
    out('not measured against --url: empty-pool cold start (needs FUNCLET_POOL_SIZE=0), funclet-side sandbox timings (needs its logs)');
  }
  out();
  out('summary');
  for (const line of verdicts) out(`  ${line}`);
}

try {
  await main();
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exitCode = 1;
} finally {
  closeClient();
}
