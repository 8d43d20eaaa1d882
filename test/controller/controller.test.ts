// controller as its own process, with stubs and a real redis-server, and an
// in-test Funclet standing in for a sandbox host (the real end-to-end path
// with runc is tested elsewhere).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';

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
  type FunctionConfig,
  type FunctionConfigSchema,
  type Invocation,
  type MessageInitShape,
} from '@faas/protocol';
import { freePort, startRedis, startService, type ManagedProcess, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { platformError } from '../support/errors.js';
import { sandboxCallsAnsweredBy } from '../support/fake-streams.js';
import { FakeAttachment } from '../support/fake-attach.js';

const PREFIX = 'controller-test:';
const TOKEN = 'controller-test-token';

const connectController = (address: string, token = TOKEN) =>
  createClient(Controller, address, { token, peerName: 'controller', defaultTimeoutMs: 15_000 });
const connectStubs = (address: string) => createClient(Stubs, address, { token: TOKEN, peerName: 'stubs', defaultTimeoutMs: 10_000 });

let workDir: string;
let redisProcess: ManagedProcess;
let redis: Redis;
let stubsService: RunningService;
let controllerService: RunningService;
let controller: ReturnType<typeof connectController>;
let stubs: ReturnType<typeof connectStubs>;
let codeDigest: string;

/** What the fake funclet was asked, in order. */
const funcletLog: string[] = [];
let fakeFunclet: grpc.Server;
let fakeFuncletAddress: string;
let sandboxCount = 0;
let attachment: FakeAttachment | undefined;

async function deploy(overrides: MessageInitShape<typeof FunctionConfigSchema> = {}) {
  const { function: fn } = await stubs.putFunction({
    function: { name: 'hello', runtime: 'nodejs', handler: 'index.handler', codeDigest, ...overrides },
  });
  return fn!;
}

function invoke(functionName: string, callId = '') {
  return controller.invoke({
    invocation: { functionName, callId, kind: InvocationKind.EVENT, payload: new TextEncoder().encode('{"n":1}'), contentType: 'application/json' },
  });
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-controller-test-'));
  const redisPort = await freePort();
  redisProcess = await startRedis(redisPort, path.join(workDir, 'redis'));
  redis = new Redis(redisPort, '127.0.0.1');
  redis.on('error', () => undefined);
  const common = { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_KEY_PREFIX: PREFIX, FAAS_INTERNAL_TOKEN: TOKEN, LOG_LEVEL: 'info' };
  stubsService = await startService('stubs', { ...common, STUBS_LISTEN: '127.0.0.1:0', STUBS_DATA_DIR: path.join(workDir, 'stubs') });
  controllerService = await startService('controller', {
    ...common,
    CONTROLLER_LISTEN: '127.0.0.1:0',
    STUBS_ADDRESS: stubsService.address,
    CONTROLLER_QUEUE_TIMEOUT_MS: '2000',
  });
  controller = connectController(controllerService.address);
  stubs = connectStubs(stubsService.address);
  const code = zipBundle({ 'index.js': 'exports.handler = async (event) => event;\n' });
  codeDigest = (
    await stubs.putCode(
      (async function* () {
        yield { chunk: code };
      })(),
    )
  ).digest;

  fakeFunclet = new grpc.Server();
  const rpcs = {
      async createSandbox(request: { function?: FunctionConfig; owner?: string; reservation?: string }) {
        const fn = request.function!;
        funcletLog.push(`create ${fn.name} v${fn.version}`);
        if (fn.handler === 'missing.handler') return { initError: { type: 'HandlerNotFound', message: 'missing.js not found' } };
        const sandboxId = `sb-${++sandboxCount}`;
        // Reported from now on, as a funclet reports what it runs.
        attachment?.sandboxes.set(sandboxId, {
          sandboxId,
          functionName: fn.name,
          functionVersion: fn.version,
          memoryMb: fn.memoryMb,
          concurrency: fn.concurrencyPerSandbox,
          owner: request.owner ?? '',
          reservation: request.reservation ?? '',
        });
        return { sandboxId };
      },
      async invoke(request: { sandboxId: string; invocation?: Invocation; timeoutMs: number }) {
        funcletLog.push(`invoke ${request.sandboxId} timeout=${request.timeoutMs}`);
        const invocation = request.invocation!;
        const echo = { sandbox: request.sandboxId, event: JSON.parse(new TextDecoder().decode(invocation.payload)), callId: invocation.callId };
        return { result: { result: new TextEncoder().encode(JSON.stringify(echo)), durationSeconds: 0.001 }, sandboxLost: false };
      },
  };
  addService(
    fakeFunclet,
    Funclet,
    {
      ...rpcs,
      calls: sandboxCallsAnsweredBy(rpcs),
      async destroySandbox(request) {
        funcletLog.push(`destroy ${request.sandboxId}`);
        attachment?.sandboxes.delete(request.sandboxId);
        return {};
      },
      async listSandboxes() {
        return { sandboxes: [] };
      },
      async prefetchCode() {
        return {};
      },
    },
    // The controller must send the internal token to funclets too.
    { token: TOKEN },
  );
  fakeFuncletAddress = await listen(fakeFunclet, '127.0.0.1:0');
});

afterAll(async () => {
  attachment?.close();
  controller?.close();
  stubs?.close();
  redis?.disconnect();
  await controllerService?.process.stop();
  await stubsService?.process.stop();
  if (fakeFunclet) await shutdown(fakeFunclet, 1_000);
  await redisProcess?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

/** Attaches the fake funclet (again, as a new boot when asked) and waits until the controller lists it. */
async function attach(bootId = 'boot-1'): Promise<FakeAttachment> {
  if (attachment) {
    if (bootId !== 'boot-1') attachment.reboot(bootId);
    return attachment;
  }
  attachment = new FakeAttachment(controller, { funcletId: 'fake-1', address: fakeFuncletAddress, bootId });
  await attachment.controllerId;
  return attachment;
}

describe('without funclets', () => {
  it('requires the internal token', async () => {
    const anonymous = connectController(controllerService.address, '');
    expect((await platformError(anonymous.invoke({ invocation: { functionName: 'hello' } }))).code).toBe('unauthenticated');
    anonymous.close();
  });

  it('answers function_not_found for an unknown function', async () => {
    expect((await platformError(invoke('nobody-here'))).code).toBe('function_not_found');
  });

  it('answers invalid_function_name and bad_request before asking anyone', async () => {
    expect((await platformError(invoke('Not_Valid'))).code).toBe('invalid_function_name');
    expect((await platformError(invoke('hello', 'spaces are not allowed'))).code).toBe('bad_request');
  });

  it('answers no_funclets when no funclet is registered', async () => {
    await deploy();
    expect((await platformError(invoke('hello'))).code).toBe('no_funclets');
  });
});

describe('funclet attachment', () => {
  it('names the controller to the funclet first, so its sandboxes carry their owner', async () => {
    const attached = await attach();
    expect(await attached.controllerId).toMatch(/-\d+-[0-9a-f]{8}$/);
  });
});

describe('invocations through a funclet', () => {
  it('creates a sandbox, then reuses it warm', async () => {
    funcletLog.length = 0;
    await attach();
    const cold = (await invoke('hello', 'call-1')).result!;
    expect(cold).toMatchObject({ callId: 'call-1', sandboxId: 'sb-1', coldStart: true, functionVersion: 1n });
    expect(JSON.parse(new TextDecoder().decode(cold.result))).toEqual({ sandbox: 'sb-1', event: { n: 1 }, callId: 'call-1' });
    expect(cold.durationSeconds).toBeGreaterThan(0);

    const warm = (await invoke('hello')).result!;
    expect(warm).toMatchObject({ sandboxId: 'sb-1', coldStart: false });
    expect(warm.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(funcletLog).toEqual(['create hello v1', 'invoke sb-1 timeout=30000', 'invoke sb-1 timeout=30000']);
  });

  it('serves a redeployed function from a new sandbox and destroys the old one', async () => {
    funcletLog.length = 0;
    await deploy({ timeoutSeconds: 5 });
    const result = (await invoke('hello')).result!;
    expect(result).toMatchObject({ sandboxId: 'sb-2', coldStart: true, functionVersion: 2n });
    expect(funcletLog).toEqual(expect.arrayContaining(['destroy sb-1', 'create hello v2', 'invoke sb-2 timeout=5000']));
  });

  it('reports a function that cannot load as its function error', async () => {
    await deploy({ name: 'broken', handler: 'missing.handler' });
    const result = (await invoke('broken', 'broken-1')).result!;
    expect(result.functionError).toMatchObject({ type: 'HandlerNotFound', message: 'missing.js not found' });
    expect(result).toMatchObject({ callId: 'broken-1', coldStart: true, functionVersion: 1n });
  });

  it('forgets the sandboxes of a funclet that restarted', async () => {
    funcletLog.length = 0;
    await attach('boot-2');
    const result = (await invoke('hello')).result!;
    expect(result).toMatchObject({ sandboxId: 'sb-3', coldStart: true });
    // The old boot's sandbox is gone with it: nothing to destroy.
    expect(funcletLog).not.toContain('destroy sb-2');
  });

  it('runs every redeploy on the very next invocation, though configs are held in memory', async () => {
    for (let round = 1; round <= 20; round++) {
      const deployed = await deploy({ name: 'redeployed', environment: { ROUND: String(round) } });
      const first = (await invoke('redeployed')).result!;
      const warm = (await invoke('redeployed')).result!;
      expect([first.functionVersion, warm.functionVersion]).toEqual([deployed.version, deployed.version]);
    }
  });

  it('finds a function deployed right after a not-found, and forgets a deleted one at once', async () => {
    expect((await platformError(invoke('late'))).code).toBe('function_not_found');
    await deploy({ name: 'late' });
    expect((await invoke('late')).result).toMatchObject({ functionVersion: 1n });
    await stubs.deleteFunction({ name: 'late' });
    expect((await platformError(invoke('late'))).code).toBe('function_not_found');
  });

  it('records itself as the owner of the sandboxes it makes, with a share of the function\'s limit', async () => {
    const attached = await attach();
    const controllerId = await attached.controllerId;
    const sandboxes = [...attached.sandboxes.values()].filter((sandbox) => sandbox.functionName === 'hello');
    expect(sandboxes.length).toBeGreaterThan(0);
    for (const sandbox of sandboxes) {
      expect(sandbox.owner).toBe(controllerId);
      expect(sandbox.reservation).toMatch(/^[0-9a-f-]{36}$/);
    }
    const members = await redis.zrange(`${PREFIX}controller:reservations:hello`, 0, -1);
    expect(members).toEqual(sandboxes.map((sandbox) => `${sandbox.reservation}:1`));
  });

  it('forgets at once the sandboxes of a funclet whose stream was cut', async () => {
    const attached = await attach();
    attached.cut();
    attachment = undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await platformError(invoke('hello'))).code).toBe('no_funclets');
  });

  it('leaves its sandboxes and their reservations when it stops, for another controller to adopt', async () => {
    funcletLog.length = 0;
    const exit = await controllerService.process.stop('SIGTERM');
    expect(exit).toMatchObject({ code: 0 });
    expect(funcletLog.filter((line) => line.startsWith('destroy'))).toEqual([]);
  });
});
