// The funclet as its own process, running real runc sandboxes, against a
// tiny in-test stubs (serving one code bundle) and controller (recording
// registrations).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
  type RegisterFuncletRequest,
} from '@faas/protocol';
import { REPO_ROOT, startService, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually } from '../support/http.js';
import { hostLeftovers } from '../support/leftovers.js';

const FUNCLET_MEMORY_MB = 1024;

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
  'exit.js': `exports.handler = async () => { setTimeout(() => process.exit(3), 10); return new Promise(() => {}); };`,
  'oom.js': `exports.handler = async () => { const hog = []; for (;;) { hog.push(Buffer.alloc(16 * 1024 * 1024, 1)); await null; } };`,
  'broken.js': `throw new Error('boom at load');`,
});
const digest = `sha256:${createHash('sha256').update(bundle).digest('hex')}`;

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
const registrations: RegisterFuncletRequest[] = [];
let funclet: RunningService;
let client: ReturnType<typeof connect>;

const connect = (address: string) => createClient(Funclet, address, { peerName: 'funclet', defaultTimeoutMs: 30_000 });

async function platformError(promise: Promise<unknown>): Promise<PlatformError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PlatformError);
  return error as PlatformError;
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
    FUNCLET_HEARTBEAT_MS: '200',
    CONTROLLER_ADDRESS: fakeAddress,
    STUBS_ADDRESS: fakeAddress,
    FAAS_INTERNAL_TOKEN: '',
    LOG_LEVEL: 'info',
  }, process.env.FUNCLET_TEST_ECHO ? (line) => console.log(line) : undefined);
}

async function createSandbox(overrides: FunctionInit = {}): Promise<string> {
  const response = await client.createSandbox({ function: fn(overrides) });
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
      if (request.digest !== digest) throw new PlatformError('code_not_found');
      for (let offset = 0; offset < bundle.length; offset += 1000) yield { chunk: bundle.subarray(offset, offset + 1000) };
    },
    putCode: unimplemented,
    putFunction: unimplemented,
    getFunction: unimplemented,
    listFunctions: unimplemented,
    deleteFunction: unimplemented,
  });
  addService(fakeServer, Controller, {
    async registerFunclet(request) {
      registrations.push(request);
      return { heartbeatIntervalMs: 0 };
    },
    invoke: unimplemented,
  });
  fakeAddress = `127.0.0.1:${await listen(fakeServer, '127.0.0.1:0')}`;
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
  it('registers with the controller and keeps heartbeating', async () => {
    await eventually(async () => (registrations.length >= 2 ? true : undefined), 10_000, 'two registrations');
    const [first, second] = registrations;
    expect(first).toMatchObject({ funcletId, address: funclet.address, memoryMbTotal: FUNCLET_MEMORY_MB, memoryMbUsed: 0, runtimes: ['nodejs'] });
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

    // What the function prints reaches the funclet's log, tagged with its sandbox.
    await eventually(
      async () => (funclet.process.output.split('\n').some((line) => line.includes(sandboxId) && line.includes(`handling call ${first.result!.callId}`)) ? true : undefined),
      5000,
      'the function output in the funclet log',
    );

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
    expect(json(http.result!.result).event).toEqual({
      method: 'POST',
      path: '/hello',
      query: { a: ['1', '2'], b: 'x' },
      rawQuery: 'a=1&a=2&b=x',
      headers: { 'x-custom': 'yes' },
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
      shadow: 'EACCES',
    });
    const listed = (await client.listSandboxes({})).sandboxes.find((s) => s.sandboxId === sandboxId);
    expect(listed).toMatchObject({ functionName: 'probe-fn', functionVersion: 3n, memoryMb: 192, cgroupPath: `/faas/${funcletId}/${sandboxId}` });
    expect(existsSync(`/proc/${listed!.pid}`)).toBe(true);
    expect(existsSync(path.join('/sys/fs/cgroup/memory', listed!.cgroupPath))).toBe(true);
    await client.destroySandbox({ sandboxId });
    expect((await client.listSandboxes({})).sandboxes.map((s) => s.sandboxId)).not.toContain(sandboxId);
    expect(existsSync(path.join('/sys/fs/cgroup/memory', listed!.cgroupPath))).toBe(false);
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
    const broken = await client.createSandbox({ function: fn({ handler: 'broken.handler' }) });
    expect(broken.sandboxId).toBe('');
    expect(broken.initError).toMatchObject({ type: 'InitError', message: expect.stringContaining('boom at load') });
    const missing = await client.createSandbox({ function: fn({ handler: 'nothere.handler' }) });
    expect(missing.initError!.type).toBe('HandlerNotFound');
    const wrongExport = await client.createSandbox({ function: fn({ handler: 'index.nope' }) });
    expect(wrongExport.initError!.type).toBe('HandlerNotFound');
    expect((await client.listSandboxes({})).sandboxes.length).toBe(before);
    expect(hostLeftovers(funcletId, stateDir, runcRoot).containers).toHaveLength(before);
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
    expect((await platformError(client.createSandbox({ function: fn({ runtime: 'python3' }) }))).code).toBe('invalid_function_config');
    expect((await platformError(client.createSandbox({ function: fn({ memoryMb: 2048 }) }))).code).toBe('too_many_requests');
    expect((await platformError(client.createSandbox({ function: fn({ codeDigest: `sha256:${'0'.repeat(64)}` }) }))).code).toBe('code_not_found');
    expect((await platformError(invokeEvent('faas-nope-1', {}))).code).toBe('sandbox_not_found');
    expect((await platformError(client.destroySandbox({ sandboxId: 'faas-nope-1' }))).code).toBe('sandbox_not_found');
  });

  it('leaves nothing behind after SIGTERM', async () => {
    await createSandbox();
    await createSandbox({ handler: 'probe.handler' });
    expect(hostLeftovers(funcletId, stateDir, runcRoot).containers.length).toBeGreaterThanOrEqual(2);
    const exit = await funclet.process.stop('SIGTERM', 15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(hostLeftovers(funcletId, stateDir, runcRoot)).toEqual({ containers: [], cgroups: [], mounts: [], namespaces: [] });
    for (const controller of ['memory', 'pids', 'cpu']) expect(existsSync(path.join('/sys/fs/cgroup', controller, 'faas', funcletId))).toBe(false);
  });

  it('cleans what a SIGKILLed funclet left when it starts again', async () => {
    funclet = await startFunclet();
    client.close();
    client = connect(funclet.address);
    const orphan = await createSandbox();
    await funclet.process.stop('SIGKILL');
    const left = hostLeftovers(funcletId, stateDir, runcRoot);
    expect(left.containers).toContain(orphan);
    expect(left.cgroups.length).toBeGreaterThan(0);

    funclet = await startFunclet();
    client.close();
    client = connect(funclet.address);
    expect(hostLeftovers(funcletId, stateDir, runcRoot)).toEqual({ containers: [], cgroups: [], mounts: [], namespaces: [] });
    expect((await client.listSandboxes({})).sandboxes).toEqual([]);
    // And it serves again, with fresh ids.
    const fresh = await createSandbox();
    expect(json((await invokeEvent(fresh, {})).result!.result).count).toBe(1);
  });
});
