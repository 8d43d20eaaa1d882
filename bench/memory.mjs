#!/usr/bin/env node
// Marginal memory of one idle warm Node sandbox: the growth of the sandboxes'
// total memory when 50 distinct functions are each invoked once and left
// idle, divided by 50. Two views: the summed PSS of every process inside the
// sandboxes' cgroups, and the summed cgroup memory usage. Baseline in the
// same run: idle plain Node processes started directly on the host.
//
// Usage (the platform must be built first; root, runc, redis-server, nats-server):
//   npm run build && npm run bench:memory
//   node bench/memory.mjs [--functions 50] [--baseline 10] [--flags-experiment] [--verbose]
//
// --flags-experiment also runs the Node agent directly on the host under a
// few node flag sets and prints each one's marginal PSS (for tuning the
// nodejs runtime's agent command in services/funclet/src/runtimes.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  argumentsOrExit,
  closeClient,
  deployFunction,
  handlerBundle,
  invokeFunction,
  mb,
  runTag,
  sleep,
  smapsRollup,
  uploadCode,
} from './support.mjs';

const USAGE = 'usage: npm run build && node bench/memory.mjs [--functions 50] [--baseline 10] [--memory-mb 64] [--flags-experiment] [--verbose]';
const TARGET_MB = 10;
const POOL_SIZE = 2;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const args = argumentsOrExit(
  {
    functions: { type: 'string', default: '50' },
    baseline: { type: 'string', default: '10' },
    'memory-mb': { type: 'string', default: '64' },
    'flags-experiment': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
  USAGE,
);
const options = {
  functions: Number(args.functions),
  baseline: Number(args.baseline),
  memoryMb: Number(args['memory-mb']),
  flagsExperiment: args['flags-experiment'],
  verbose: args.verbose,
};
const out = (line = '') => console.log(line);
const f1 = (value) => value.toFixed(1);

// ---- what the sandboxes hold --------------------------------------------

/** The funclet's cgroup directories holding memory accounting, v1 or v2. */
function funcletCgroupRoots(funcletId) {
  const candidates = [
    { dir: `/sys/fs/cgroup/memory/faas/${funcletId}`, usageFile: 'memory.usage_in_bytes' },
    { dir: `/sys/fs/cgroup/faas/${funcletId}`, usageFile: 'memory.current' },
    { dir: `/sys/fs/cgroup/unified/faas/${funcletId}`, usageFile: 'memory.current' },
  ];
  return candidates.filter((candidate) => existsSync(candidate.dir));
}

function subdirectories(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => path.join(dir, entry.name));
  } catch {
    return [];
  }
}

function pidsUnder(dir) {
  const pids = [];
  const walk = (current) => {
    try {
      for (const line of readFileSync(path.join(current, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim()) pids.push(Number(line));
    } catch {
      // Gone meanwhile.
    }
    for (const child of subdirectories(current)) walk(child);
  };
  walk(dir);
  return pids;
}

/** Every sandbox's cgroup, its processes' PSS/USS and its memory usage, summed. */
function sandboxMemory(funcletId) {
  const roots = funcletCgroupRoots(funcletId);
  const memoryRoot = roots[0];
  const result = { sandboxes: 0, processes: 0, pss: 0, uss: 0, rss: 0, cgroupUsage: 0, cgroupKind: memoryRoot?.usageFile ?? 'none' };
  if (!memoryRoot) return result;
  for (const sandboxDir of subdirectories(memoryRoot.dir)) {
    result.sandboxes++;
    const usage = Number(readFileSync(path.join(sandboxDir, memoryRoot.usageFile), 'utf8').trim());
    if (Number.isFinite(usage)) result.cgroupUsage += usage;
    for (const pid of pidsUnder(sandboxDir)) {
      const rollup = smapsRollup(pid);
      result.processes++;
      result.pss += rollup.Pss ?? 0;
      result.rss += rollup.Rss ?? 0;
      result.uss += (rollup.Private_Clean ?? 0) + (rollup.Private_Dirty ?? 0);
    }
  }
  return result;
}

/** Averages a few readings a little apart: idle Node processes still settle for a moment. */
async function settledReading(read, readings = 3) {
  const all = [];
  for (let i = 0; i < readings; i++) {
    if (i > 0) await sleep(500);
    all.push(read());
  }
  const average = { ...all.at(-1) };
  for (const key of ['pss', 'uss', 'rss', 'cgroupUsage']) average[key] = all.reduce((sum, r) => sum + r[key], 0) / all.length;
  return average;
}

// ---- host baselines ------------------------------------------------------

function processMemory(pids) {
  let pss = 0;
  let uss = 0;
  for (const pid of pids) {
    const rollup = smapsRollup(pid);
    pss += rollup.Pss ?? 0;
    uss += (rollup.Private_Clean ?? 0) + (rollup.Private_Dirty ?? 0);
  }
  return { pss, uss };
}

const BENCH_CGROUP = `/sys/fs/cgroup/memory/faas-bench-${process.pid}`;

/**
 * V8 sizes its heap from the cgroup memory limit it finds at start, so a
 * host baseline comparable with a sandbox runs under the same limit. cgroup
 * v1 only (this machine); elsewhere the processes run unconstrained.
 */
async function withLimitedCgroup(limitMb, index, command, args) {
  if (!limitMb || !existsSync('/sys/fs/cgroup/memory')) return { command, args, limited: false };
  const dir = path.join(BENCH_CGROUP, String(index));
  await mkdir(dir, { recursive: true });
  writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitMb * 1024 * 1024));
  return { command: '/bin/sh', args: ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh', command, ...args], limited: true };
}

async function removeBenchCgroup() {
  if (!existsSync(BENCH_CGROUP)) return;
  for (const entry of readdirSync(BENCH_CGROUP, { withFileTypes: true })) {
    if (entry.isDirectory()) await rmdir(path.join(BENCH_CGROUP, entry.name)).catch(() => undefined);
  }
  await rmdir(BENCH_CGROUP).catch(() => undefined);
}

/** Starts `count` copies of a command, waits until they idle, and returns their summed memory per process. */
async function marginalOfHostProcesses(count, command, args, { env = {}, ready, limitMb = 0 } = {}) {
  const children = [];
  try {
    for (let i = 0; i < count; i++) {
      const wrapped = await withLimitedCgroup(limitMb, i, command, typeof args === 'function' ? args(i) : args);
      const child = spawn(wrapped.command, wrapped.args, {
        stdio: ['ignore', 'ignore', 'ignore'],
        env: { ...process.env, ...(typeof env === 'function' ? env(i) : env) },
      });
      children.push(child);
    }
    if (ready) await Promise.all(children.map((child, i) => ready(child, i)));
    await sleep(1500);
    const readings = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await sleep(500);
      readings.push(processMemory(children.map((child) => child.pid)));
    }
    const pss = readings.reduce((sum, r) => sum + r.pss, 0) / readings.length;
    const uss = readings.reduce((sum, r) => sum + r.uss, 0) / readings.length;
    return { pssMb: mb(pss) / count, ussMb: mb(uss) / count };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => (child.exitCode !== null || child.signalCode ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
    if (limitMb) await removeBenchCgroup();
  }
}

const IDLE_NODE = 'setInterval(() => {}, 1e9)';
const IDLE_HTTP = "require('node:http').createServer((q, s) => s.end('{}')).listen(0, '127.0.0.1'); setInterval(() => {}, 1e9)";

// ---- the Node agent on the host, for flag experiments ---------------------

async function talkToAgent(socketPath, wire, codeDir) {
  for (let attempt = 0; attempt < 100 && !existsSync(socketPath); attempt++) await sleep(20);
  const { encodeFrame, FrameDecoder, FrameType } = wire;
  let conn;
  for (let attempt = 0; ; attempt++) {
    try {
      conn = connect(socketPath);
      await new Promise((resolve, reject) => conn.once('connect', resolve).once('error', reject));
      break;
    } catch (error) {
      // The socket file appears at bind(), a moment before listen().
      if (attempt >= 50) throw error;
      await sleep(20);
    }
  }
  const decoder = new FrameDecoder();
  const replies = new Map();
  conn.on('data', (chunk) => {
    for (const frame of decoder.push(chunk)) replies.get(frame.requestId)?.(frame);
  });
  const ask = (id, type, header, body) =>
    new Promise((resolve) => {
      replies.set(id, resolve);
      conn.write(encodeFrame(id, type, header, body));
    });
  const loaded = await ask(1, FrameType.LOAD, { handler: 'index.handler', codeDir, env: {}, functionName: 'probe', version: '1', memoryMb: 64 });
  const invoked = await ask(2, FrameType.INVOKE, { callId: 'c1', kind: 'event', contentType: 'application/json', deadlineMs: Date.now() + 5000 }, Buffer.from('{"x":1}'));
  // Sandboxes keep their connection to the funclet open; so does this.
  return { loaded: loaded.type === FrameType.OK, invoked: invoked.type === FrameType.RESULT, conn };
}

async function agentFlagExperiment(count) {
  const wirePath = path.join(REPO_ROOT, 'services/funclet/dist/agent/wire.js');
  if (!existsSync(wirePath)) return [{ label: 'agent flag experiment skipped: services/funclet/dist/agent/wire.js missing (build first)' }];
  const wire = await import(pathToFileURL(wirePath).href);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'faas-bench-agent-'));
  const codeDir = path.join(workDir, 'code');
  await mkdir(codeDir);
  writeFileSync(path.join(codeDir, 'index.mjs'), 'export const handler = async (event) => ({ ok: true, echo: event });\n');
  const variants = [
    { label: 'agent, as runtimes.ts starts it', flags: [], env: {} },
    { label: '--max-semi-space-size=1', flags: ['--max-semi-space-size=1'], env: {} },
    { label: '--v8-pool-size=1', flags: ['--v8-pool-size=1'], env: {} },
    { label: '--single-threaded', flags: ['--single-threaded'], env: {} },
    { label: 'UV_THREADPOOL_SIZE=1', flags: [], env: { UV_THREADPOOL_SIZE: '1' } },
    { label: '--jitless', flags: ['--jitless'], env: {} },
    { label: '--lite-mode', flags: ['--lite-mode'], env: {} },
    { label: '--max-semi-space-size=1 --v8-pool-size=1', flags: ['--max-semi-space-size=1', '--v8-pool-size=1'], env: { UV_THREADPOOL_SIZE: '1' } },
    { label: '--max-semi-space-size=1 --single-threaded', flags: ['--max-semi-space-size=1', '--single-threaded'], env: { UV_THREADPOOL_SIZE: '1' } },
  ];
  const results = [];
  try {
    for (const variant of variants) {
      const connections = [];
      const flagsOk = [];
      const started = performance.now();
      const result = await marginalOfHostProcesses(count, process.execPath, () => [...variant.flags, path.join(REPO_ROOT, 'services/funclet/dist/agent/node-agent.js'), '--mode=nodejs'], {
        limitMb: options.memoryMb,
        env: (i) => ({ ...variant.env, FAAS_AGENT_SOCKET: path.join(workDir, `agent-${results.length}-${i}.sock`) }),
        ready: async (child, i) => {
          const talk = await talkToAgent(path.join(workDir, `agent-${results.length}-${i}.sock`), wire, codeDir).catch((error) => ({ error }));
          if (talk.conn) connections.push(talk.conn);
          flagsOk.push(Boolean(talk.loaded && talk.invoked));
        },
      });
      for (const conn of connections) conn.destroy();
      results.push({ ...variant, ...result, works: flagsOk.every(Boolean), seconds: (performance.now() - started) / 1000 });
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return results;
}

// ---- the run --------------------------------------------------------------

async function main() {
  out(`bench/memory  ${new Date().toISOString()}  node ${process.version}  functions=${options.functions} baseline=${options.baseline} memoryMb=${options.memoryMb}`);

  const plain = await marginalOfHostProcesses(options.baseline, process.execPath, ['-e', IDLE_NODE]);
  const httpServer = await marginalOfHostProcesses(options.baseline, process.execPath, ['-e', IDLE_HTTP]);
  const plainLimited = await marginalOfHostProcesses(options.baseline, process.execPath, ['-e', IDLE_NODE], { limitMb: options.memoryMb });
  const httpLimited = await marginalOfHostProcesses(options.baseline, process.execPath, ['-e', IDLE_HTTP], { limitMb: options.memoryMb });

  const { startPlatform } = await import('@faas/launcher');
  // A pool that grows with demand would add sandboxes of its own between the
  // two readings; a budget of exactly its base size for each of the four
  // pooled runtimes (nodejs, python3, exec, http) holds it there, so the
  // growth is the functions'.
  const platform = await startPlatform({
    serviceEnv: { funclet: { FUNCLET_POOL_SIZE: String(POOL_SIZE), FUNCLET_POOL_MEMORY_MB: String(POOL_SIZE * 4 * 64) } },
    onLine: (source, line) => options.verbose && process.stderr.write(`[${source}] ${line}\n`),
  });
  let before;
  let after;
  let failures = 0;
  try {
    // Let the pool (if any) fill and the services settle.
    await sleep(3000);
    before = await settledReading(() => sandboxMemory(platform.funcletId));
    for (let i = 0; i < options.functions; i++) {
      const name = `mem-${runTag}-${i}`;
      await deployFunction(platform.httpUrl, name, await uploadCode(platform.httpUrl, handlerBundle(name)), { memoryMb: options.memoryMb });
      const answer = await invokeFunction(platform.httpUrl, name, { i });
      if (answer.status !== 200 || answer.json?.ok !== true) failures++;
    }
    // The pool refills behind the takes; give it and the fresh sandboxes time to go idle.
    await sleep(3000);
    after = await settledReading(() => sandboxMemory(platform.funcletId));
  } finally {
    await platform.stop();
  }

  const grown = after.sandboxes - before.sandboxes;
  // Divided by the sandboxes really added: should the pool hold a different
  // number at the two readings, those are idle Node sandboxes too.
  const perSandbox = (key) => mb(after[key] - before[key]) / Math.max(1, grown);
  const pssEach = perSandbox('pss');
  const cgroupEach = perSandbox('cgroupUsage');

  out();
  out(`host baseline (${options.baseline} processes started directly on the host, summed / ${options.baseline})`);
  out(`  idle node -e "${IDLE_NODE}"        PSS ${f1(plain.pssMb)} MB  USS ${f1(plain.ussMb)} MB`);
  out(`  idle minimal node:http server          PSS ${f1(httpServer.pssMb)} MB  USS ${f1(httpServer.ussMb)} MB`);
  out(`  the same in a ${options.memoryMb} MB memory cgroup each (V8 sizes its heap from the limit, as in a sandbox):`);
  out(`  idle node -e, ${options.memoryMb} MB cgroup                  PSS ${f1(plainLimited.pssMb)} MB  USS ${f1(plainLimited.ussMb)} MB`);
  out(`  idle node:http server, ${options.memoryMb} MB cgroup         PSS ${f1(httpLimited.pssMb)} MB  USS ${f1(httpLimited.ussMb)} MB`);
  out();
  out(`sandboxes (cgroup accounting: ${after.cgroupKind}; ${options.functions} functions invoked once, ${failures} failed)`);
  out(`  before: ${before.sandboxes} sandboxes, ${before.processes} processes, PSS ${f1(mb(before.pss))} MB, USS ${f1(mb(before.uss))} MB, cgroup usage ${f1(mb(before.cgroupUsage))} MB`);
  out(`  after:  ${after.sandboxes} sandboxes, ${after.processes} processes, PSS ${f1(mb(after.pss))} MB, USS ${f1(mb(after.uss))} MB, cgroup usage ${f1(mb(after.cgroupUsage))} MB`);
  out(`  sandboxes added: ${grown} (expected ${options.functions}; the pool, if any, held at ${POOL_SIZE} per runtime by FUNCLET_POOL_SIZE=${POOL_SIZE} and a budget of that many a runtime)`);
  out(`  marginal per idle warm sandbox: PSS ${f1(pssEach)} MB, USS ${f1(perSandbox('uss'))} MB, RSS ${f1(perSandbox('rss'))} MB, cgroup usage ${f1(cgroupEach)} MB`);
  out(`  ratio sandbox PSS / idle node PSS: ${(pssEach / plain.pssMb).toFixed(2)}x (same cgroup limit: ${(pssEach / plainLimited.pssMb).toFixed(2)}x); / idle http server PSS: ${(pssEach / httpServer.pssMb).toFixed(2)}x (same limit: ${(pssEach / httpLimited.pssMb).toFixed(2)}x)`);
  out();
  out(`  ${pssEach <= TARGET_MB ? 'PASS' : 'MISS'}  marginal PSS per idle warm sandbox: ${f1(pssEach)} MB (target ≤ ${TARGET_MB})`);
  out(`  ${cgroupEach <= TARGET_MB ? 'PASS' : 'MISS'}  marginal cgroup usage per idle warm sandbox: ${f1(cgroupEach)} MB (target ≤ ${TARGET_MB})`);

  if (options.flagsExperiment) {
    out();
    out(`node-agent.js on the host under node flags (${options.baseline} agents each in a ${options.memoryMb} MB memory cgroup, LOAD + one INVOKE, connection kept open)`);
    for (const result of await agentFlagExperiment(options.baseline)) {
      if (result.pssMb === undefined) out(`  ${result.label}`);
      else out(`  ${result.label.padEnd(48)} PSS ${f1(result.pssMb).padStart(5)} MB  USS ${f1(result.ussMb).padStart(5)} MB  ${result.works ? 'works' : 'BROKEN (load/invoke failed)'}`);
    }
  }
}

try {
  await main();
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exitCode = 1;
} finally {
  closeClient();
}
