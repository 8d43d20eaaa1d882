// The funclet as its own process, running real runc sandboxes, against a
// tiny in-test stubs (serving one code bundle) and controller (recording
// the funclet's reports).
import { execFileSync, spawn } from 'node:child_process';
import { connect as connectTcp, createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import {
  Controller,
  Funclet,
  InvocationKind,
  Stubs,
  addService,
  createClient,
  grpc,
  listen,
  shutdown,
  type MessageInitShape,
  type FunctionConfigSchema,
  type DuplexStream,
  type ControllerAttachRequest,
  ControllerAttachResponseSchema,
  create,
} from '@faas/protocol';
import { REPO_ROOT, startService, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually } from '../support/http.js';
import { NOTHING_LEFT, hostLeftovers } from '../support/leftovers.js';
import { platformError } from '../support/errors.js';
import { noPlacedCalls } from '../support/fake-streams.js';

// Room for the pools of every runtime (which grow with demand) beside the tests' own sandboxes.
const FUNCLET_MEMORY_MB = 4096;

const bundle = zipBundle({
  'index.js': `
    let count = 0;
    exports.handler = async (event, context) => (console.log('handling call', context.callId), {
      count: ++count,
      event,
      callId: context.callId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      memoryLimitInMB: context.memoryLimitInMB,
      remainingMs: context.getRemainingTimeInMillis(),
      greeting: process.env.GREETING,
    });`,
  'echo.mjs': `export const handler = async (event) => ({ event, isBuffer: Buffer.isBuffer(event), text: Buffer.isBuffer(event) ? event.toString('latin1') : undefined });`,
  'probe.mjs': `
    import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
    const attempt = (path) => { try { writeFileSync(path, 'x'); return 'ok'; } catch (error) { return error.code; } };
    export const handler = async () => ({
      interfaces: readdirSync('/sys/class/net').sort(),
      memoryLimit: Number(readFileSync('/sys/fs/cgroup/memory/memory.limit_in_bytes', 'utf8')),
      uid: process.getuid(),
      gid: process.getgid(),
      writeRoot: attempt('/escape'),
      writeCode: attempt('/var/task/escape'),
      writeTmp: attempt('/tmp/fine'),
      shadow: (() => { try { readFileSync('/etc/shadow'); return 'read'; } catch (error) { return error.code; } })(),
    });`,
  'fail.js': `exports.handler = async () => { throw new TypeError('bad input'); };`,
  'uncaught.js': `exports.handler = async () => { setTimeout(() => { throw new RangeError('thrown from a timer'); }, 5); return new Promise(() => {}); };`,
  'callback.js': `exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { viaCallback: event }), 1); };`,
  'hang.js': `exports.handler = () => new Promise(() => {});`,
  'nap.js': `exports.handler = (event) => new Promise((resolve) => setTimeout(() => resolve({ napped: event }), 300));`,
  'exit.js': `exports.handler = async () => { setTimeout(() => process.exit(3), 10); return new Promise(() => {}); };`,
  'oom.js': `exports.handler = async () => { const hog = []; for (;;) { hog.push(Buffer.alloc(16 * 1024 * 1024, 1)); await null; } };`,
  'broken.js': `throw new Error('boom at load');`,
  'net.js': `
    const net = require('node:net');
    const os = require('node:os');
    let server;
    const connect = (host, port) => new Promise((resolve) => {
      const socket = net.connect({ host, port, timeout: 1500 });
      socket.once('connect', () => { socket.end(); resolve('connected'); });
      socket.once('data', () => {});
      socket.once('timeout', () => { socket.destroy(); resolve('timeout'); });
      socket.once('error', (error) => resolve(error.code));
    });
    const get = (host, port) => new Promise((resolve) => {
      const socket = net.connect({ host, port, timeout: 1500 }, () => socket.write('GET / HTTP/1.0\\r\\n\\r\\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.once('end', () => resolve(text.split('\\r\\n\\r\\n')[1] ?? text));
      socket.once('timeout', () => { socket.destroy(); resolve('timeout'); });
      socket.once('error', (error) => resolve(error.code));
    });
    exports.handler = async (event) => {
      if (event.action === 'get') return get(event.host, event.port);
      if (event.action === 'connect') return connect(event.host, event.port);
      if (event.action === 'listen') {
        server = net.createServer((socket) => socket.end('hello from a sandbox'));
        await new Promise((resolve) => server.listen(event.port, '0.0.0.0', resolve));
      }
      return Object.values(os.networkInterfaces()).flat().filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
    };`,
  'whoami.js': `
    const { readdirSync, readFileSync } = require('node:fs');
    const read = (path) => readFileSync(path, 'utf8').trim();
    exports.handler = async () => ({
      pid: process.pid,
      files: readdirSync('/var/task').sort(),
      name: process.env.FAAS_FUNCTION_NAME,
      greeting: process.env.GREETING ?? null,
      memoryLimit: Number(read('/sys/fs/cgroup/memory/memory.limit_in_bytes')),
      cpuQuota: Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')),
      cpuShares: Number(read('/sys/fs/cgroup/cpu/cpu.shares')),
    });`,
});
const digest = `sha256:${createHash('sha256').update(bundle).digest('hex')}`;

// A custom runtime and a function on it: the fake stubs serves these two
// only when both are asked for at once (see the rendezvous below).
const runtimeBundle = zipBundle({
  bootstrap: `#!/usr/bin/node
// Answers every invocation with the task root's greeting and the event.
const base = 'http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/2018-06-01/runtime/invocation';
const greeting = require('node:fs').readFileSync(process.env.LAMBDA_TASK_ROOT + '/' + process.env._HANDLER, 'utf8');
async function serve() {
  const next = await fetch(base + '/next');
  const requestId = next.headers.get('lambda-runtime-aws-request-id');
  const body = JSON.stringify({ greeting, event: await next.json(), runtimeDir: process.env.LAMBDA_RUNTIME_DIR });
  await fetch(base + '/' + requestId + '/response', { method: 'POST', body });
  return serve();
}
serve();
`,
  'runtime.json': '{"name": "greeter", "description": "greets"}',
});
const customCode = zipBundle({ 'greeting.txt': 'hello from a pooled custom runtime' });
const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const servedBundles = new Map([digest, digestOf(runtimeBundle), digestOf(customCode)].map((d, i) => [d, [bundle, runtimeBundle, customCode][i]!]));
/** Digests asked for so far, among those that must be asked for at once. */
const rendezvous = new Set<string>();
const TOGETHER = new Set([digestOf(runtimeBundle), digestOf(customCode)]);

/** Holds a fetch of one of the custom function's two bundles until the other is asked for too. */
async function arriveTogether(requested: string): Promise<void> {
  rendezvous.add(requested);
  for (let waited = 0; [...TOGETHER].some((d) => !rendezvous.has(d)); waited += 20) {
    if (waited > 5_000) throw new PlatformError('service_unavailable', `${requested} was asked for alone: the other bundle was not fetched at the same time`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

type FunctionInit = MessageInitShape<typeof FunctionConfigSchema>;
const fn = (overrides: FunctionInit = {}): FunctionInit => ({
  name: 'probe-fn',
  runtime: 'nodejs',
  handler: 'index.handler',
  codeDigest: digest,
  memoryMb: 128,
  timeoutSeconds: 30,
  version: 3n,
  environment: { GREETING: 'hi' },
  ...overrides,
});

const funcletId = `ft${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}`;
let workDir: string;
let stateDir: string;
let runcRoot: string;
let fakeServer: grpc.Server;
let fakeAddress: string;
let getCodeCalls = 0;
/** The in-test controller's id: sandboxes made for it are reported as its own. */
const FAKE_CONTROLLER = 'fake-controller';
const reports: ControllerAttachRequest[] = [];
let attached: DuplexStream<typeof Controller.method.attach> | undefined;
let funclet: RunningService;
let client: ReturnType<typeof connect>;

const connect = (address: string) => createClient(Funclet, address, { peerName: 'funclet', defaultTimeoutMs: 30_000 });

/** The funclet's JSON log lines written after `from` (an offset into its output). */
const logLines = (from = 0): Array<Record<string, unknown>> =>
  funclet.process.output
    .slice(from)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const readyLine = (sandboxId: string) => logLines().find((line) => line.msg === 'sandbox ready' && line.sandbox === sandboxId);
/** Pool sandboxes of `runtime` booted and not yet taken by a function, as the funclet's log tells. */
function waitingInPool(runtime: string): number {
  const lines = logLines();
  const taken = new Set(lines.filter((line) => line.msg === 'sandbox ready').map((line) => line.sandbox));
  return lines.filter((line) => line.msg === 'pool sandbox ready' && line.runtime === runtime && !taken.has(line.sandbox)).length;
}

const json = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8'));
const unimplemented = async (): Promise<never> => {
  throw new PlatformError('internal', 'not part of this test');
};

function startFunclet(): Promise<RunningService> {
  return startService('funclet', {
    FUNCLET_LISTEN: '127.0.0.1:0',
    FUNCLET_ID: funcletId,
    FUNCLET_STATE_DIR: stateDir,
    FUNCLET_RUNC_ROOT: runcRoot,
    FUNCLET_MEMORY_MB: String(FUNCLET_MEMORY_MB),
    FUNCLET_REPORT_INTERVAL_MS: '200',
    FUNCLET_ORPHAN_TTL_MS: '1000',
    FUNCLET_AGENT_CHECK_MS: '1000',
    CONTROLLER_ADDRESS: fakeAddress,
    STUBS_ADDRESS: fakeAddress,
    FAAS_INTERNAL_TOKEN: '',
    LOG_LEVEL: 'info',
  }, process.env.FUNCLET_TEST_ECHO ? (line) => console.log(line) : undefined);
}

async function createSandbox(overrides: FunctionInit = {}): Promise<string> {
  const response = await client.createSandbox({ function: fn(overrides), owner: FAKE_CONTROLLER });
  expect(response.initError).toBeUndefined();
  expect(response.sandboxId).toMatch(new RegExp(`^faas-${funcletId}-\\d+$`));
  return response.sandboxId;
}

const invokeEvent = (sandboxId: string, payload: unknown, timeoutMs = 10_000) =>
  client.invoke({
    sandboxId,
    timeoutMs,
    invocation: { functionName: 'probe-fn', callId: `call-${Math.random().toString(36).slice(2)}`, kind: InvocationKind.EVENT, payload: Buffer.from(JSON.stringify(payload)), contentType: 'application/json' },
  });

beforeAll(async () => {
  execFileSync('npx', ['turbo', 'run', 'build', '--filter=@faas/funclet', '--filter=@faas/launcher'], {
    cwd: REPO_ROOT,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    stdio: 'ignore',
  });
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-funclet-test-'));
  stateDir = path.join(workDir, 'state');
  runcRoot = path.join(workDir, 'runc');

  fakeServer = new grpc.Server();
  addService(fakeServer, Stubs, {
    async *getCode(request) {
      getCodeCalls += 1;
      const served = servedBundles.get(request.digest);
      if (!served) throw new PlatformError('code_not_found');
      if (TOGETHER.has(request.digest)) await arriveTogether(request.digest);
      for (let offset = 0; offset < served.length; offset += 1000) yield { chunk: served.subarray(offset, offset + 1000) };
    },
    putCode: unimplemented,
    putFunction: unimplemented,
    getFunction: unimplemented,
    listFunctions: unimplemented,
    deleteFunction: unimplemented,
    putRuntime: unimplemented,
    getRuntime: unimplemented,
    listRuntimes: unimplemented,
    putTrigger: unimplemented,
    getTrigger: unimplemented,
    listTriggers: unimplemented,
    deleteTrigger: unimplemented,
    publishVersion: unimplemented,
    listVersions: unimplemented,
    deleteVersion: unimplemented,
    putAlias: unimplemented,
    getAlias: unimplemented,
    listAliases: unimplemented,
    deleteAlias: unimplemented,
    putSecret: unimplemented,
    listSecrets: unimplemented,
    deleteSecret: unimplemented,
    getSecretValues: unimplemented,
    getRegistryStatus: unimplemented,
  });
  addService(fakeServer, Controller, {
    attach(stream) {
      attached = stream;
      stream.write(create(ControllerAttachResponseSchema, { controllerId: FAKE_CONTROLLER }));
      stream.on('data', (report: ControllerAttachRequest) => reports.push(report));
      stream.on('error', () => {});
    },
    invoke: unimplemented,
    calls: noPlacedCalls,
  });
  fakeAddress = await listen(fakeServer, '127.0.0.1:0');
  funclet = await startFunclet();
  client = connect(funclet.address);
});

afterAll(async () => {
  client?.close();
  await funclet?.process.stop('SIGTERM', 15_000);
  if (fakeServer) await shutdown(fakeServer, 1000);
  // Whatever a failed test left: never leave containers behind on the machine.
  if (runcRoot && existsSync(runcRoot)) {
    for (const id of hostLeftovers(funcletId, stateDir, runcRoot).containers) execFileSync('runc', ['--root', runcRoot, 'delete', '--force', id]);
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('funclet', () => {
  it('attaches to the controller and keeps reporting', async () => {
    await eventually(async () => (reports.length >= 2 ? true : undefined), 10_000, 'two reports');
    const [first, second] = reports;
    // Pool sandboxes are not counted as used: their memory is there for the taking.
    expect(first).toMatchObject({ funcletId, address: funclet.address, memoryMbTotal: FUNCLET_MEMORY_MB, memoryMbUsed: 0 });
    expect(first!.runtimes).toContain('nodejs');
    expect(first!.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second!.bootId).toBe(first!.bootId);
  });

  it('creates a sandbox, runs the handler, and reuses the sandbox for the next call', async () => {
    const coldStarted = performance.now();
    const sandboxId = await createSandbox();
    const coldMs = performance.now() - coldStarted;

    const first = await invokeEvent(sandboxId, { name: 'x' });
    expect(first.sandboxLost).toBe(false);
    expect(first.result!.functionError).toBeUndefined();
    expect(first.result!.sandboxId).toBe(sandboxId);
    expect(first.result!.coldStart).toBe(true);
    expect(first.result!.functionVersion).toBe(3n);
    expect(first.result!.durationSeconds).toBeGreaterThan(0);
    const body = json(first.result!.result);
    expect(body).toMatchObject({ count: 1, event: { name: 'x' }, callId: first.result!.callId, functionName: 'probe-fn', functionVersion: '3', memoryLimitInMB: 128, greeting: 'hi' });
    expect(body.remainingMs).toBeGreaterThan(8000);
    expect(body.remainingMs).toBeLessThanOrEqual(10_000);

    // What the function prints goes to the per-call log pipeline, tested in test/logs.

    const second = await invokeEvent(sandboxId, {});
    expect(json(second.result!.result).count).toBe(2);
    expect(second.result!.coldStart).toBe(false);

    // Code already cached: only runc, the agent's boot and the module load.
    const warmCreateStarted = performance.now();
    const another = await createSandbox();
    const cachedCodeColdMs = performance.now() - warmCreateStarted;
    expect(getCodeCalls).toBe(1);

    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await invokeEvent(sandboxId, { i });
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `funclet timings: CreateSandbox ${coldMs.toFixed(1)} ms (code fetch included), ${cachedCodeColdMs.toFixed(1)} ms (code cached); ` +
        `warm Invoke p50 ${latencies[100]!.toFixed(2)} ms, p99 ${latencies[198]!.toFixed(2)} ms`,
    );
    await client.destroySandbox({ sandboxId: another });
  });

  it('passes HTTP invocations and binary events to the handler as design.md says', async () => {
    const sandboxId = await createSandbox({ handler: 'echo.handler' });
    const http = await client.invoke({
      sandboxId,
      timeoutMs: 5000,
      invocation: {
        callId: 'http-1',
        kind: InvocationKind.HTTP,
        payload: Buffer.from([0xff, 0x00, 0x41]),
        http: { method: 'POST', path: '/hello', rawQuery: 'a=1&a=2&b=x', headers: { 'X-Custom': 'yes' } },
      },
    });
    // An HTTP call's answer is the handler's value as a 200 JSON response.
    expect(http.result!.httpResponse).toMatchObject({ status: 200, headers: [{ name: 'content-type', value: 'application/json; charset=utf-8' }] });
    expect(json(http.result!.httpResponse!.body).event).toEqual({
      method: 'POST',
      path: '/hello',
      query: { a: ['1', '2'], b: 'x' },
      rawQuery: 'a=1&a=2&b=x',
      headers: { 'x-custom': 'yes' },
      pathParameters: {},
      body: Buffer.from([0xff, 0x00, 0x41]).toString('base64'),
      isBase64Encoded: true,
    });
    const binary = await client.invoke({
      sandboxId,
      timeoutMs: 5000,
      invocation: { callId: 'bin-1', kind: InvocationKind.EVENT, payload: Buffer.from([0x80, 0x81]), contentType: 'application/octet-stream' },
    });
    expect(json(binary.result!.result)).toMatchObject({ isBuffer: true, text: '\x80\x81' });
    await client.destroySandbox({ sandboxId });

    const callbackStyle = await createSandbox({ handler: 'callback.handler' });
    expect(json((await invokeEvent(callbackStyle, [1, 2])).result!.result)).toEqual({ viaCallback: [1, 2] });
    await client.destroySandbox({ sandboxId: callbackStyle });
  });

  it('isolates the sandbox: loopback only, memory limit, read-only root, unprivileged user', async () => {
    const sandboxId = await createSandbox({ handler: 'probe.handler', memoryMb: 192 });
    const probe = json((await invokeEvent(sandboxId, {})).result!.result);
    expect(probe).toEqual({
      interfaces: ['lo'],
      memoryLimit: 192 * 1024 * 1024,
      uid: 65534,
      gid: 65534,
      writeRoot: 'EROFS',
      writeCode: 'EROFS',
      writeTmp: 'ok',
      // Not even there: the sandbox's /etc is its own.
      shadow: 'ENOENT',
    });
    const listed = (await client.listSandboxes({})).sandboxes.find((s) => s.sandboxId === sandboxId);
    expect(listed).toMatchObject({ functionName: 'probe-fn', functionVersion: 3n, memoryMb: 192, cgroupPath: `/faas/${funcletId}/${sandboxId}` });
    expect(existsSync(`/proc/${listed!.pid}`)).toBe(true);
    expect(existsSync(path.join('/sys/fs/cgroup/memory', listed!.cgroupPath))).toBe(true);
    await client.destroySandbox({ sandboxId });
    expect((await client.listSandboxes({})).sandboxes.map((s) => s.sandboxId)).not.toContain(sandboxId);
    expect(existsSync(path.join('/sys/fs/cgroup/memory', listed!.cgroupPath))).toBe(false);
  });

  it('admits at most concurrency_per_sandbox calls at once, and refuses the next with sandbox_busy', async () => {
    const sandboxId = await createSandbox({ handler: 'nap.handler', concurrencyPerSandbox: 2 });
    const outcomes = await Promise.all([1, 2, 3].map((n) => invokeEvent(sandboxId, n).then((r) => json(r.result!.result).napped, (error) => (error as PlatformError).code)));
    expect(outcomes.sort()).toEqual([1, 2, 'sandbox_busy'].sort());
    // Once they end, the slots are free again.
    expect(await Promise.all([4, 5].map((n) => invokeEvent(sandboxId, n).then((r) => json(r.result!.result).napped)))).toEqual([4, 5]);
    await client.destroySandbox({ sandboxId });
  });

  it('reports a thrown error as a function error and keeps the sandbox', async () => {
    const sandboxId = await createSandbox({ handler: 'fail.handler' });
    const response = await invokeEvent(sandboxId, {});
    expect(response.sandboxLost).toBe(false);
    expect(response.result!.functionError).toMatchObject({ type: 'TypeError', message: 'bad input' });
    expect(response.result!.functionError!.stack).toContain('fail.js');
    expect((await invokeEvent(sandboxId, {})).result!.functionError!.type).toBe('TypeError');
    await client.destroySandbox({ sandboxId });
  });

  it('reports an error thrown outside the handler\'s promise against the running call', async () => {
    const sandboxId = await createSandbox({ handler: 'uncaught.handler' });
    const response = await invokeEvent(sandboxId, {}, 5000);
    expect(response.sandboxLost).toBe(false);
    expect(response.result!.functionError).toMatchObject({ type: 'RangeError', message: 'thrown from a timer' });
    await client.destroySandbox({ sandboxId });
  });

  it('answers code that cannot load with an init error and leaves no sandbox', async () => {
    const before = (await client.listSandboxes({})).sandboxes.length;
    const logStart = funclet.process.output.length;
    const broken = await client.createSandbox({ function: fn({ handler: 'broken.handler' }) });
    expect(broken.sandboxId).toBe('');
    expect(broken.initError).toMatchObject({ type: 'InitError', message: expect.stringContaining('boom at load') });
    const missing = await client.createSandbox({ function: fn({ handler: 'nothere.handler' }) });
    expect(missing.initError!.type).toBe('HandlerNotFound');
    const wrongExport = await client.createSandbox({ function: fn({ handler: 'index.nope' }) });
    expect(wrongExport.initError!.type).toBe('HandlerNotFound');
    expect((await client.listSandboxes({})).sandboxes.length).toBe(before);
    // The sandboxes that tried to load the code (pool ones, specialised) are gone from the host.
    const failed = logLines(logStart).filter((line) => line.msg === 'function failed to load').map((line) => line.sandbox as string);
    expect(failed).toHaveLength(3);
    const containers = hostLeftovers(funcletId, stateDir, runcRoot).containers;
    for (const id of failed) expect(containers).not.toContain(id);
  });

  it('kills a sandbox whose handler outlives its timeout', async () => {
    const sandboxId = await createSandbox({ handler: 'hang.handler' });
    const started = performance.now();
    const response = await invokeEvent(sandboxId, {}, 1000);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(response.sandboxLost).toBe(true);
    expect(response.result!.functionError).toMatchObject({ type: 'Timeout', message: 'Task timed out after 1.00 seconds' });
    expect(hostLeftovers(funcletId, stateDir, runcRoot).containers).not.toContain(sandboxId);
    expect((await platformError(invokeEvent(sandboxId, {}))).code).toBe('sandbox_not_found');
  });

  it('tells a runtime that exited from one that ran out of memory', async () => {
    const exiting = await createSandbox({ handler: 'exit.handler' });
    const exited = await invokeEvent(exiting, {});
    expect(exited.sandboxLost).toBe(true);
    expect(exited.result!.functionError!.type).toBe('RuntimeExited');

    const hungry = await createSandbox({ handler: 'oom.handler', memoryMb: 128 });
    const oom = await invokeEvent(hungry, {}, 20_000);
    expect(oom.sandboxLost).toBe(true);
    expect(oom.result!.functionError!.type).toBe('OutOfMemory');
    await eventually(async () => ((await client.listSandboxes({})).sandboxes.some((s) => s.sandboxId === hungry) ? undefined : true), 5000, 'the OOM sandbox to go');
  });

  it('refuses what it cannot run with catalogue errors', async () => {
    expect((await platformError(client.createSandbox({ function: fn({ runtime: 'cobol' }) }))).code).toBe('invalid_function_config');
    expect((await platformError(client.createSandbox({ function: fn({ memoryMb: 8192 }) }))).code).toBe('too_many_requests');
    expect((await platformError(client.createSandbox({ function: fn({ codeDigest: `sha256:${'0'.repeat(64)}` }) }))).code).toBe('code_not_found');
    expect((await platformError(invokeEvent('faas-nope-1', {}))).code).toBe('sandbox_not_found');
    expect((await platformError(client.destroySandbox({ sandboxId: 'faas-nope-1' }))).code).toBe('sandbox_not_found');
  });

  it('cold-starts from the pool: the function\'s code only, its own limits (its time is printed; bench:cold-start measures it)', async () => {
    // The tests before took pool sandboxes; one must be waiting again.
    await eventually(async () => (waitingInPool('nodejs') > 0 ? true : undefined), 15_000, 'a warm pool');
    const started = performance.now();
    const sandboxId = await createSandbox({ name: 'pooled-fn', handler: 'whoami.handler', memoryMb: 192, environment: {} });
    const createMs = performance.now() - started;
    const ready = await eventually(async () => readyLine(sandboxId), 5000, 'the sandbox ready line');
    expect(ready).toMatchObject({ fromPool: true, memoryMb: 192 });
    const seen = json((await invokeEvent(sandboxId, {})).result!.result);
    expect(seen.files).toEqual(['broken.js', 'callback.js', 'echo.mjs', 'exit.js', 'fail.js', 'hang.js', 'index.js', 'nap.js', 'net.js', 'oom.js', 'probe.mjs', 'uncaught.js', 'whoami.js']);
    expect(seen).toMatchObject({ name: 'pooled-fn', greeting: null, memoryLimit: 192 * 1024 * 1024, cpuShares: 192, cpuQuota: 25_000 });
    // The host's view of the same cgroup agrees, memory+swap included.
    const listed = (await client.listSandboxes({})).sandboxes.find((s) => s.sandboxId === sandboxId)!;
    const memoryDir = path.join('/sys/fs/cgroup/memory', listed.cgroupPath);
    expect(Number(readFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), 'utf8'))).toBe(192 * 1024 * 1024);
    expect(Number(readFileSync(path.join(memoryDir, 'memory.memsw.limit_in_bytes'), 'utf8'))).toBe(192 * 1024 * 1024);
    console.log(`pool cold start: CreateSandbox ${createMs.toFixed(1)} ms over gRPC; funclet ${JSON.stringify({ readyMs: ready.readyMs, mountMs: ready.mountMs, limitsMs: ready.limitsMs, loadMs: ready.loadMs })}`);
    await client.destroySandbox({ sandboxId });
  });

  it('pools custom runtime sandboxes, and fetches a custom function\'s code and runtime bundle at once', async () => {
    await eventually(async () => (waitingInPool('custom') > 0 ? true : undefined), 15_000, 'a pooled custom sandbox');
    const sandboxId = await createSandbox({ runtime: 'custom:greeter', handler: 'greeting.txt', codeDigest: digestOf(customCode), runtimeCodeDigest: digestOf(runtimeBundle) });
    expect(await eventually(async () => readyLine(sandboxId), 5000, 'the sandbox ready line')).toMatchObject({ fromPool: true, runtime: 'custom:greeter' });
    expect(json((await invokeEvent(sandboxId, { who: 'me' })).result!.result)).toEqual({
      greeting: 'hello from a pooled custom runtime',
      event: { who: 'me' },
      runtimeDir: '/opt/runtime',
    });
    await client.destroySandbox({ sandboxId });
  });

  it('never lets two functions share a sandbox, and refills the pool after each take', async () => {
    const poolBootsBefore = logLines().filter((line) => line.msg === 'pool sandbox ready').length;
    const a = await createSandbox({ name: 'fn-a', handler: 'whoami.handler', environment: { GREETING: 'from a' } });
    const b = await createSandbox({ name: 'fn-b', handler: 'whoami.handler', environment: {} });
    expect(a).not.toBe(b);
    const seenA = json((await invokeEvent(a, {})).result!.result);
    const seenB = json((await invokeEvent(b, {})).result!.result);
    expect(seenA).toMatchObject({ name: 'fn-a', greeting: 'from a' });
    // b never sees a's environment: a different process in a different sandbox.
    expect(seenB).toMatchObject({ name: 'fn-b', greeting: null });
    const pids = (await client.listSandboxes({})).sandboxes.filter((s) => s.sandboxId === a || s.sandboxId === b).map((s) => s.pid);
    expect(new Set(pids).size).toBe(2);
    // A destroyed sandbox is recycled, never handed to the next function.
    await client.destroySandbox({ sandboxId: a });
    const c = await createSandbox({ name: 'fn-c', handler: 'whoami.handler', environment: {} });
    expect([a, b]).not.toContain(c);
    expect(json((await invokeEvent(c, {})).result!.result).name).toBe('fn-c');
    await eventually(
      async () => (logLines().filter((line) => line.msg === 'pool sandbox ready').length >= poolBootsBefore + 3 ? true : undefined),
      15_000,
      'the pool to refill three times',
    );
    for (const sandboxId of [b, c]) await client.destroySandbox({ sandboxId });
  });

  it('gives outbound network only to functions that ask, and never to the host or other sandboxes', async () => {
    // The only "outside" this test talks to: a network namespace it creates, with a veth to the host and an HTTP server.
    const tag = Math.random().toString(36).slice(2, 8);
    const testNs = `faastest-${tag}`;
    const third = 100 + Math.floor(Math.random() * 100);
    const [hostSide, serverSide] = [`10.250.${third}.1`, `10.250.${third}.2`];
    const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
    ip('netns', 'add', testNs);
    let server: ReturnType<typeof spawn> | undefined;
    const hostListener = createServer((socket) => socket.end('host'));
    try {
      ip('link', 'add', `ft${tag}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', testNs);
      ip('addr', 'add', `${hostSide}/30`, 'dev', `ft${tag}`);
      ip('link', 'set', `ft${tag}`, 'up');
      ip('-n', testNs, 'addr', 'add', `${serverSide}/30`, 'dev', 'eth0');
      ip('-n', testNs, 'link', 'set', 'eth0', 'up');
      ip('-n', testNs, 'link', 'set', 'lo', 'up');
      ip('-n', testNs, 'route', 'add', 'default', 'via', hostSide);
      server = spawn('ip', ['netns', 'exec', testNs, process.execPath, '-e', `require('node:http').createServer((q, r) => r.end('outside says hi')).listen(8080, '${serverSide}', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => server!.stdout!.once('data', resolve));
      // A host listener on every address, to show the firewall (not the bind address) keeps sandboxes out.
      await new Promise<void>((resolve) => hostListener.listen(0, '0.0.0.0', resolve));
      const hostPort = (hostListener.address() as { port: number }).port;
      const funcletPort = Number(funclet.address.split(':')[1]);

      const call = async (sandboxId: string, event: unknown) => json((await invokeEvent(sandboxId, event)).result!.result);
      const open = await createSandbox({ name: 'egress-fn', handler: 'net.handler', networkEgress: true, environment: {} });
      const closed = await createSandbox({ name: 'closed-fn', handler: 'net.handler', environment: {} });
      const neighbour = await createSandbox({ name: 'neighbour-fn', handler: 'net.handler', networkEgress: true, environment: {} });
      expect(await eventually(async () => readyLine(open), 5000, 'ready line')).toMatchObject({ egress: true, fromPool: false });

      expect(await call(open, { action: 'get', host: serverSide, port: 8080 })).toBe('outside says hi');
      expect(await call(closed, { action: 'get', host: serverSide, port: 8080 })).toBe('ENETUNREACH');
      expect(await call(closed, { action: 'addresses' })).toEqual([]);

      const [openAddress] = await call(open, { action: 'addresses' });
      expect(openAddress).toMatch(/^10\.240\.\d+\.\d+$/);
      const gateway = openAddress.replace(/\.\d+$/, '.1');
      // The host: neither the funclet's port nor any other, through the bridge address or the host's others.
      expect(await call(open, { action: 'connect', host: gateway, port: funcletPort })).toBe('timeout');
      expect(await call(open, { action: 'connect', host: gateway, port: hostPort })).toBe('timeout');
      expect(await call(open, { action: 'connect', host: hostSide, port: hostPort })).toBe('timeout');

      // Another sandbox: listening, reachable from the host, not from its neighbour.
      const [neighbourAddress] = await call(neighbour, { action: 'listen', port: 9000 });
      const fromHost = await new Promise<string>((resolve) => {
        const socket = connectTcp({ host: neighbourAddress, port: 9000 });
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        socket.once('end', () => resolve(text));
        socket.once('error', (error) => resolve(String(error)));
      });
      expect(fromHost).toBe('hello from a sandbox');
      expect(await call(open, { action: 'connect', host: neighbourAddress, port: 9000 })).not.toBe('connected');

      for (const sandboxId of [open, closed, neighbour]) await client.destroySandbox({ sandboxId });
    } finally {
      server?.kill('SIGKILL');
      hostListener.close();
      ip('netns', 'del', testNs);
    }
  });

  it('recycles an idle sandbox whose agent stopped answering', async () => {
    const sandboxId = await createSandbox();
    const { sandboxes } = await client.listSandboxes({});
    const initPid = sandboxes.find((sandbox) => sandbox.sandboxId === sandboxId)!.pid;
    // The listed pid is the sandbox's PID 1 (tini); the agent is its only child.
    const pid = Number(readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('node-agent.js');
    process.kill(pid, 'SIGSTOP');
    try {
      await eventually(
        async () => ((await client.listSandboxes({})).sandboxes.some((sandbox) => sandbox.sandboxId === sandboxId) ? undefined : true),
        15_000,
        'the silent sandbox recycled',
      );
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone with its sandbox.
      }
    }
    expect(logLines().some((line) => line.sandbox === sandboxId && String(line.msg).includes('stopped answering'))).toBe(true);
  });

  it('frees the sandboxes of a controller whose stream ended, grants a claim, and destroys what nobody claims', async () => {
    const kept = await createSandbox();
    const unclaimed = await createSandbox();
    const lastReport = () => reports[reports.length - 1]!;
    const ownerOf = (id: string) => lastReport().sandboxes.find((sandbox) => sandbox.sandboxId === id)?.owner;
    await eventually(async () => (ownerOf(unclaimed) === FAKE_CONTROLLER ? true : undefined), 5_000, 'the sandbox reported as ours');
    const before = attached;
    before!.end();
    await eventually(async () => (attached !== before && ownerOf(kept) === '' ? true : undefined), 5_000, 'the sandboxes reported as nobody\'s');
    const others = lastReport().sandboxes.map((sandbox) => sandbox.sandboxId).filter((id) => id !== unclaimed);
    attached!.write(create(ControllerAttachResponseSchema, { claim: others }));
    await eventually(async () => (ownerOf(kept) === FAKE_CONTROLLER ? true : undefined), 5_000, 'the claim granted');
    await eventually(
      async () => {
        const { sandboxes } = await client.listSandboxes({});
        return sandboxes.some((sandbox) => sandbox.sandboxId === unclaimed) ? undefined : sandboxes;
      },
      15_000,
      'the unclaimed sandbox destroyed',
    );
    expect((await client.listSandboxes({})).sandboxes.map((sandbox) => sandbox.sandboxId)).toContain(kept);
    expect((await invokeEvent(kept, { n: 1 })).result?.functionError).toBeUndefined();
  });

  it('leaves nothing behind after SIGTERM', async () => {
    await createSandbox();
    await createSandbox({ handler: 'probe.handler' });
    expect(hostLeftovers(funcletId, stateDir, runcRoot).containers.length).toBeGreaterThanOrEqual(2);
    const exit = await funclet.process.stop('SIGTERM', 15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(hostLeftovers(funcletId, stateDir, runcRoot)).toEqual(NOTHING_LEFT);
    for (const controller of ['memory', 'pids', 'cpu']) expect(existsSync(path.join('/sys/fs/cgroup', controller, 'faas', funcletId))).toBe(false);
    // The egress network went too: bridge, firewall chains and NAT.
    const bridge = `fb${createHash('sha256').update(funcletId).digest('hex').slice(0, 10)}`;
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
    const rules = execFileSync('iptables-save', { encoding: 'utf8' });
    expect(rules).not.toContain(createHash('sha256').update(funcletId).digest('hex').slice(0, 10));
  });

  it('cleans what a SIGKILLed funclet left when it starts again', async () => {
    funclet = await startFunclet();
    client.close();
    client = connect(funclet.address);
    const orphan = await createSandbox();
    await eventually(async () => (logLines().filter((line) => line.msg === 'pool sandbox ready').length >= 2 ? true : undefined), 10_000, 'the pool');
    const orphanNamespaces = hostLeftovers(funcletId, stateDir, runcRoot).namespaces as string[];
    await funclet.process.stop('SIGKILL');
    const left = hostLeftovers(funcletId, stateDir, runcRoot);
    expect(left.containers).toContain(orphan);
    expect(left.cgroups.length).toBeGreaterThan(0);
    expect(left.namespaces.length).toBeGreaterThan(0);
    expect(left.mounts.length).toBeGreaterThan(0);

    funclet = await startFunclet();
    client.close();
    client = connect(funclet.address);
    const now = hostLeftovers(funcletId, stateDir, runcRoot);
    expect(now.containers).not.toContain(orphan);
    // Every namespace of the killed process is gone (the new process names its own differently).
    for (const name of orphanNamespaces) expect(now.namespaces).not.toContain(name);
    expect(now.mounts.filter((line: string) => orphanNamespaces.some((name) => line.includes(`/run/netns/${name} `)))).toEqual([]);
    expect((await client.listSandboxes({})).sandboxes).toEqual([]);
    // And it serves again, with fresh ids.
    const fresh = await createSandbox();
    expect(json((await invokeEvent(fresh, {})).result!.result).count).toBe(1);
    // Its own clean shutdown then leaves nothing at all.
    expect(await funclet.process.stop('SIGTERM', 15_000)).toEqual({ code: 0, signal: null });
    expect(hostLeftovers(funcletId, stateDir, runcRoot)).toEqual(NOTHING_LEFT);
  });
});
