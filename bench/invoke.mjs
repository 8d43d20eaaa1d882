#!/usr/bin/env node
// Warm-path benchmark: the platform's invocation routes against a plain
// node:http server that serves the same no-op handler, in the same run,
// alternated round by round so that the machine's noise hits both alike.
//
//   npm run bench:invoke                      (builds first; needs root, like the platform)
//   node bench/invoke.mjs [--rounds 3] [--seconds 5] [--connections 32]
//                         [--modes direct,controller,direct@3x2] [--soak-seconds 60]
//                         [--cold-starts 20] [--config '{"concurrencyPerSandbox":64,"memoryMb":2048}']
//                         [--observability off,metrics,traced]
//
// For each data path (FAAS_DATA_PATH) it starts a platform of its own (own
// NATS and Redis on free ports), deploys `noop`, and prints for
// /function/noop, /v1/functions/noop/invocations and Controller.Invoke over
// gRPC: req/s at --connections, p50/p99 at one connection, the ratio to the
// direct server, the added p50, CPU µs per call of each process (from
// /proc), errors and non-2xx answers; then each service's RSS around a
// --soak-seconds run, and pool cold starts. A mode `<path>@<F>x<C>` runs
// the same on F funclets and C controllers (one host, each funclet on its own
// loopback address), and the summary compares it with `<path>` on one of each.
// --observability runs each mode once per variant — `off` (FAAS_METRICS=false,
// no spans), `metrics` (the default: metrics kept, no spans), `traced`
// (metrics, and every call's spans exported to a sink) — and prints what
// metrics and tracing cost per call against `off`.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPlatform } from '@faas/launcher';
import { Funclet, createClient } from '@faas/protocol';
import { cpuDuring, rssBytes } from './proc-stat.mjs';
import { closeClient, deployFunction, fmt, handlerBundle, invokeFunction, mb, runTag, send, sleep, summarise, uploadCode, verdict, verdictAtLeast } from './support.mjs';
import { ensureWrk, runWrk } from './wrk.mjs';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    modes: { type: 'string', default: 'direct,controller,direct@3x2' },
    'soak-seconds': { type: 'string', default: '60' },
    'cold-starts': { type: 'string', default: '20' },
    // Like the direct server (and OpenFaaS's defaults), the function may use the whole machine:
    // 2048 MB buys two cores of CPU quota; one sandbox takes all the calls at once.
    config: { type: 'string', default: '{"concurrencyPerSandbox":64,"memoryMb":2048}' },
    // Spans recorded for every call and exported (OTLP/HTTP) to a sink the bench runs: what tracing costs.
    tracing: { type: 'boolean', default: false },
    // Variants of the same load in one run: off, metrics, traced (see above).
    observability: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(options.rounds);
const SECONDS = Number(options.seconds);
const CONNECTIONS = Number(options.connections);
const SOAK_SECONDS = Number(options['soak-seconds']);
const COLD_STARTS = Number(options['cold-starts']);
const MODES = options.modes.split(',').filter(Boolean);
/** What each observability variant sets in every service's environment. */
const VARIANTS = {
  off: { metrics: false, tracing: false },
  metrics: { metrics: true, tracing: false },
  traced: { metrics: true, tracing: true },
};
const VARIANT_NAMES = (options.observability ?? (options.tracing ? 'traced' : 'metrics')).split(',').filter(Boolean);
for (const name of VARIANT_NAMES) if (!VARIANTS[name]) throw new Error(`--observability takes ${Object.keys(VARIANTS).join(', ')}; got ${JSON.stringify(name)}`);
const FUNCTION_CONFIG = JSON.parse(options.config);
// clusterThroughputRatio: no loss beyond the noise of a shared machine (a few percent).
const TARGETS = { throughputRatio: 0.25, addedP50Ms: 0.4, cpuMicrosPerCall: 150, coldStartP50Ms: 10, clusterThroughputRatio: 0.95 };
const SERVICES = ['httptrigger', 'controller', 'funclet', 'queue-worker', 'stubs'];
const HERE = path.dirname(fileURLToPath(import.meta.url));

const HANDLER_SOURCE = 'export const handler = async (event, context) => ({ ok: true });\n';
const PAYLOAD = '{"n":1}';

const out = (line = '') => console.log(line);
const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};

/** The no-op handler served by node:http alone: what the function costs without a platform. */
async function startDirectServer() {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-direct-'));
  writeFileSync(path.join(dir, 'handler.mjs'), HANDLER_SOURCE);
  const source = `
    import http from 'node:http';
    const { handler } = await import(${JSON.stringify(path.join(dir, 'handler.mjs'))});
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        const event = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
        const result = Buffer.from(JSON.stringify(await handler(event, {})));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': result.length }).end(result);
      });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    child.once('exit', (code) => reject(new Error(`the direct server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

function grpcLoad(address, connections, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(HERE, 'grpc-load.mjs'), '--address', address, '--function', 'noop', '--connections', String(connections), '--seconds', String(seconds), '--payload', PAYLOAD],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        const report = JSON.parse(output.trim().split('\n').at(-1));
        resolve({ ...report, non2xx: report.functionErrors, socketErrors: report.errors });
      } catch {
        reject(new Error(`grpc-load failed (${code}): ${output}`));
      }
    });
  });
}

/** Host pids of the sandboxes serving `noop`: their runtime agents. */
async function agentPids(platform) {
  const pids = [];
  for (const { address } of platform.replicas('funclet')) {
    const funclet = createClient(Funclet, address, { peerName: 'funclet' });
    try {
      const { sandboxes } = await funclet.listSandboxes({});
      pids.push(...sandboxes.filter((sandbox) => sandbox.functionName === 'noop').map((sandbox) => sandbox.pid));
    } finally {
      funclet.close();
    }
  }
  return pids;
}

/** `direct`, or `direct@3x2`: the data path, and how many funclets and controllers. */
function parseMode(mode) {
  const match = /^([a-z]+)(?:@(\d+)x(\d+))?$/.exec(mode);
  if (!match) throw new Error(`a mode is <data path>[@<funclets>x<controllers>], got ${JSON.stringify(mode)}`);
  return { dataPath: match[1], funclets: Number(match[2] ?? 1), controllers: Number(match[3] ?? 1) };
}

/** One load shape against one target: throughput at CONNECTIONS, then latency at 1; CPU per call of every process. */
async function measure(target, pids) {
  const run = (connections) =>
    cpuDuring(pids, () => (target.grpc ? grpcLoad(target.grpc, connections, SECONDS) : runWrk(target.url, { connections, seconds: SECONDS, ...target.request })));
  const loaded = await run(CONNECTIONS);
  const single = await run(1);
  const perCall = (spent, requests) => Object.fromEntries(Object.entries(spent).map(([name, micros]) => [name, micros / Math.max(1, requests)]));
  return {
    rps: loaded.result.rps,
    p50: single.result.p50,
    p99: single.result.p99,
    failures: loaded.result.non2xx + loaded.result.socketErrors + single.result.non2xx + single.result.socketErrors,
    cpuLoaded: perCall(loaded.spent, loaded.result.requests),
    cpuSingle: perCall(single.spent, single.result.requests),
  };
}

async function coldStarts(baseUrl, count) {
  const digest = await uploadCode(baseUrl, handlerBundle(`cold-${runTag}`));
  const times = [];
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const name = `cold-${runTag}-${i}`;
    await deployFunction(baseUrl, name, digest, { memoryMb: 64 });
    // Room for the pool to refill, as between real deploys.
    await sleep(300);
    const answer = await invokeFunction(baseUrl, name, { i });
    if (answer.status === 200) times.push(answer.ms);
    else failures++;
  }
  return { ...summarise(times), failures };
}

/** An OTLP/HTTP endpoint that takes every export and keeps nothing. */
async function startTraceSink() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

const VARIANT_TITLES = { off: 'metrics and tracing off', metrics: 'metrics on, tracing off', traced: 'metrics on, every call traced and exported' };

async function benchMode(mode, direct, variantName) {
  const variant = VARIANTS[variantName];
  out(`\n## data path: ${mode}, ${VARIANT_TITLES[variantName]}`);
  const sink = variant.tracing ? await startTraceSink() : undefined;
  const tracing = {
    FAAS_METRICS: String(variant.metrics),
    ...(sink ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on' } : {}),
  };
  const { dataPath, funclets, controllers } = parseMode(mode);
  const platform = await startPlatform({
    funclets,
    controllers,
    env: { FAAS_DATA_PATH: dataPath, ...tracing },
    onLine: options.verbose ? (source, line) => process.stderr.write(`[${source}] ${line}\n`) : undefined,
  });
  try {
    const digest = await uploadCode(platform.httpUrl, handlerBundle(`noop-${runTag}`, HANDLER_SOURCE));
    await deployFunction(platform.httpUrl, 'noop', digest, { memoryMb: 128, maxConcurrency: CONNECTIONS, ...FUNCTION_CONFIG });
    const warm = await invokeFunction(platform.httpUrl, 'noop', {});
    if (warm.status !== 200) throw new Error(`noop failed: ${warm.status} ${warm.text}`);

    const targets = {
      direct: { url: direct.url, request: { method: 'POST', body: PAYLOAD } },
      '/function/noop': { url: `${platform.httpUrl}/function/noop`, request: {} },
      '/v1/functions/noop/invocations': { url: `${platform.httpUrl}/v1/functions/noop/invocations`, request: { method: 'POST', body: PAYLOAD } },
      'Controller.Invoke (gRPC)': { grpc: platform.addresses.controller },
    };
    // Warm every path (and let the sandboxes the load needs be created) before measuring.
    for (const target of Object.values(targets).slice(1)) {
      if (target.grpc) await grpcLoad(target.grpc, CONNECTIONS, 1);
      else await runWrk(target.url, { connections: CONNECTIONS, seconds: 1, ...target.request });
    }
    // Sandboxes come and go with the load: their pids are read again before each measurement.
    const pidsNow = async () => ({
      // Every replica's CPU counts as its service's.
      ...Object.fromEntries(SERVICES.map((name) => [name, platform.replicas(name).map((replica) => replica.process.child.pid)])),
      'agent (sandbox)': await agentPids(platform),
      'direct server': [direct.pid],
    });

    const samples = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, target] of Object.entries(targets)) {
        const sample = await measure(target, await pidsNow());
        samples[name].push(sample);
        if (options.verbose) out(`round ${round} ${name}: ${JSON.stringify(sample)}`);
      }
      out(`round ${round}/${ROUNDS} done`);
    }
    const report = summariseMode(samples, Object.keys(await pidsNow()));

    let soak;
    if (SOAK_SECONDS > 0) {
      const rssOf = () => Object.fromEntries(SERVICES.map((name) => [name, rssBytes(platform.services[name].process.child.pid)]));
      const before = rssOf();
      const run = await runWrk(targets['/function/noop'].url, { connections: CONNECTIONS, seconds: SOAK_SECONDS });
      soak = { before, after: rssOf(), run };
    }
    const cold = COLD_STARTS > 0 ? await coldStarts(platform.httpUrl, COLD_STARTS) : undefined;
    printMode(mode, report, soak, cold);
    return report;
  } finally {
    await platform.stop();
    sink?.stop();
  }
}

function summariseMode(samples, processes) {
  const directRps = median(samples.direct.map((s) => s.rps));
  const directP50 = median(samples.direct.map((s) => s.p50));
  const rows = {};
  for (const [name, list] of Object.entries(samples)) {
    const cpu = (field) => Object.fromEntries(processes.map((process) => [process, median(list.map((s) => s[field][process]))]));
    rows[name] = {
      rps: median(list.map((s) => s.rps)),
      p50: median(list.map((s) => s.p50)),
      p99: median(list.map((s) => s.p99)),
      failures: list.reduce((sum, s) => sum + s.failures, 0),
      ratio: median(list.map((s) => s.rps)) / directRps,
      addedP50: median(list.map((s) => s.p50)) - directP50,
      cpuLoaded: cpu('cpuLoaded'),
      cpuSingle: cpu('cpuSingle'),
    };
  }
  return rows;
}

const OUR_SERVICES = (cpu) => SERVICES.reduce((sum, name) => sum + (cpu[name] ?? 0), 0);

function printMode(mode, rows, soak, cold) {
  out(`\n${'route'.padEnd(34)} ${'req/s@' + CONNECTIONS}`.padEnd(48) + 'ratio   p50@1   +p50    p99@1  failures  services µs/call @1 (@' + CONNECTIONS + ')');
  for (const [name, row] of Object.entries(rows)) {
    const services = name === 'direct' ? '' : `${fmt(OUR_SERVICES(row.cpuSingle))} (${fmt(OUR_SERVICES(row.cpuLoaded))})`;
    out(
      `${name.padEnd(34)} ${row.rps.toFixed(0).padStart(8)}     ${row.ratio.toFixed(3).padStart(6)}  ${fmt(row.p50).padStart(6)}  ${name === 'direct' ? '     ' : fmt(row.addedP50).padStart(5)}  ${fmt(row.p99).padStart(6)}  ${String(row.failures).padStart(8)}  ${services}`,
    );
  }
  out(`\nCPU µs per call, by process, at 1 connection (at ${CONNECTIONS}):`);
  const processes = Object.keys(rows.direct.cpuSingle);
  out(`${'process'.padEnd(18)}${Object.keys(rows).map((name) => name.slice(0, 30).padStart(32)).join('')}`);
  for (const process of processes) {
    out(`${process.padEnd(18)}${Object.values(rows).map((row) => `${fmt(row.cpuSingle[process])} (${fmt(row.cpuLoaded[process])})`.padStart(32)).join('')}`);
  }
  if (soak) {
    out(`\nRSS around a ${SOAK_SECONDS} s run at ${CONNECTIONS} connections on /function/noop (${soak.run.rps.toFixed(0)} req/s, ${soak.run.non2xx + soak.run.socketErrors} failures):`);
    for (const name of SERVICES) out(`  ${name.padEnd(14)} ${fmt(mb(soak.before[name])).padStart(7)} MB → ${fmt(mb(soak.after[name])).padStart(7)} MB`);
  }
  if (cold) out(`\npool cold start (client, ${cold.n} functions): p50 ${fmt(cold.p50)} ms  p99 ${fmt(cold.p99)} ms  failures ${cold.failures}`);

  const fn = rows['/function/noop'];
  out(`\ntargets (${mode}):`);
  out(`  ${verdictAtLeast(fn.ratio, TARGETS.throughputRatio, '/function throughput as a share of the direct server')}`);
  out(`  ${verdict(fn.addedP50, TARGETS.addedP50Ms, 'added p50 at 1 connection, ms')}`);
  out(`  ${verdict(OUR_SERVICES(fn.cpuLoaded), TARGETS.cpuMicrosPerCall, `CPU µs per warm call, all services, /function at ${CONNECTIONS} connections`)}`);
  out(`  ${verdict(OUR_SERVICES(fn.cpuSingle), TARGETS.cpuMicrosPerCall, 'CPU µs per warm call, all services, /function at 1 connection')}`);
  if (cold) out(`  ${verdict(cold.p50, TARGETS.coldStartP50Ms, 'pool cold start p50, ms')}`);
}

/** Each variant against the first (normally `off`), per mode and route: throughput, p50, and services' CPU per call. */
function printObservabilityCost(byVariant) {
  const [baseName, ...others] = VARIANT_NAMES;
  out(`\n# what metrics and tracing cost per call, against "${baseName}" (same run; CPU µs per call of all services at 1 connection, at ${CONNECTIONS})`);
  for (const mode of MODES) {
    const base = byVariant.get(`${mode} ${baseName}`);
    for (const route of ['/function/noop', '/v1/functions/noop/invocations']) {
      const b = base[route];
      out(`\n${mode} ${route}`);
      out(`  ${baseName.padEnd(8)} ${b.rps.toFixed(0).padStart(8)} req/s  p50 ${fmt(b.p50)} ms  CPU ${fmt(OUR_SERVICES(b.cpuSingle))} (${fmt(OUR_SERVICES(b.cpuLoaded))}) µs`);
      for (const name of others) {
        const row = byVariant.get(`${mode} ${name}`)[route];
        const extraSingle = OUR_SERVICES(row.cpuSingle) - OUR_SERVICES(b.cpuSingle);
        const extraLoaded = OUR_SERVICES(row.cpuLoaded) - OUR_SERVICES(b.cpuLoaded);
        out(
          `  ${name.padEnd(8)} ${row.rps.toFixed(0).padStart(8)} req/s  p50 ${fmt(row.p50)} ms  CPU ${fmt(OUR_SERVICES(row.cpuSingle))} (${fmt(OUR_SERVICES(row.cpuLoaded))}) µs` +
            `  → throughput ×${(row.rps / b.rps).toFixed(3)}, CPU ×${(OUR_SERVICES(row.cpuLoaded) / OUR_SERVICES(b.cpuLoaded)).toFixed(3)}, ${extraSingle >= 0 ? '+' : ''}${fmt(extraSingle)} (${extraLoaded >= 0 ? '+' : ''}${fmt(extraLoaded)}) µs per call`,
        );
      }
    }
  }
}

ensureWrk();
const direct = await startDirectServer();
try {
  // Warm the direct server's JIT like the platform's.
  await runWrk(direct.url, { connections: CONNECTIONS, seconds: 1, method: 'POST', body: PAYLOAD });
  await send(direct.url, { method: 'POST', body: PAYLOAD });
  out(`# bench:invoke — ${ROUNDS} rounds of ${SECONDS} s per measurement, ${CONNECTIONS} connections; function config ${JSON.stringify(FUNCTION_CONFIG)}`);
  const reports = new Map();
  const byVariant = new Map();
  for (const mode of MODES) {
    for (const variant of VARIANT_NAMES) {
      const report = await benchMode(mode, direct, variant);
      byVariant.set(`${mode} ${variant}`, report);
      if (!reports.has(mode)) reports.set(mode, report);
    }
  }
  if (VARIANT_NAMES.length > 1) printObservabilityCost(byVariant);
  // Many funclets and controllers against one of each, same data path, same run.
  for (const [mode, report] of reports) {
    const { dataPath, funclets, controllers } = parseMode(mode);
    const single = reports.get(dataPath);
    if ((funclets === 1 && controllers === 1) || !single) continue;
    const ratio = report['/function/noop'].rps / single['/function/noop'].rps;
    out(`\n${mode} against ${dataPath} (1 funclet, 1 controller): /function/noop ${report['/function/noop'].rps.toFixed(0)} / ${single['/function/noop'].rps.toFixed(0)} req/s = ${ratio.toFixed(3)}`);
    out(`  ${verdictAtLeast(ratio, TARGETS.clusterThroughputRatio, `/function throughput on ${funclets} funclets and ${controllers} controllers as a share of one of each`)}`);
  }
} finally {
  direct.stop();
  closeClient();
}
