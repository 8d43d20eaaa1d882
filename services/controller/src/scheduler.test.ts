import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import {
  create,
  FunctionConfigSchema,
  FunctionErrorSchema,
  InvocationResultSchema,
  InvocationSchema,
  type FunctionConfig,
  type Invocation,
  type MessageInitShape,
} from '@faas/protocol';
import {
  FuncletUnreachableError,
  type CreateSandboxOutcome,
  type FuncletInfo,
  type FuncletInvokeOutcome,
  type FuncletPort,
} from './funclet-port.js';
import { InvocationRunner } from './invocation-runner.js';
import { Scheduler, type SchedulerLimits } from './scheduler.js';

const quiet = { info() {}, warn() {}, debug() {} };

function funclet(overrides: Partial<FuncletInfo> = {}): FuncletInfo {
  return { id: 'f1', address: '127.0.0.1:1', bootId: 'boot-1', memoryMbTotal: 4096, memoryMbUsed: 0, runtimes: ['nodejs'], seenAtMs: 0, ...overrides };
}

function fnConfig(overrides: MessageInitShape<typeof FunctionConfigSchema> = {}): FunctionConfig {
  return create(FunctionConfigSchema, {
    name: 'hello',
    runtime: 'nodejs',
    handler: 'index.handler',
    memoryMb: 128,
    timeoutSeconds: 30,
    maxConcurrency: 10,
    version: 1n,
    ...overrides,
  });
}

type InvokeBehaviour = (sandboxId: string, invocation: Invocation) => Promise<FuncletInvokeOutcome>;

/** A funclet that records what it is asked and answers as each test tells it. */
class FakeFunclets implements FuncletPort {
  created: { funcletId: string; sandboxId: string; version: bigint }[] = [];
  destroyed: string[] = [];
  invoked: string[] = [];
  disconnected: string[] = [];
  private sandboxCount = 0;
  createOutcome: (fn: FunctionConfig) => CreateSandboxOutcome | Promise<CreateSandboxOutcome> = () => ({ sandboxId: `sb-${++this.sandboxCount}` });
  behaviour: InvokeBehaviour = async (sandboxId) => ({ result: ok(sandboxId), sandboxLost: false });

  async createSandbox(target: FuncletInfo, fn: FunctionConfig): Promise<CreateSandboxOutcome> {
    const outcome = await this.createOutcome(fn);
    if ('sandboxId' in outcome) this.created.push({ funcletId: target.id, sandboxId: outcome.sandboxId, version: fn.version });
    return outcome;
  }
  async invoke(_target: FuncletInfo, sandboxId: string, invocation: Invocation): Promise<FuncletInvokeOutcome> {
    this.invoked.push(sandboxId);
    return this.behaviour(sandboxId, invocation);
  }
  async destroySandbox(_target: FuncletInfo, sandboxId: string): Promise<void> {
    this.destroyed.push(sandboxId);
  }
  prefetched: { funcletId: string; digests: readonly string[] }[] = [];
  prefetchFails = false;
  async prefetchCode(target: FuncletInfo, digests: readonly string[]): Promise<void> {
    if (this.prefetchFails) throw new PlatformError('service_unavailable', 'funclet down');
    this.prefetched.push({ funcletId: target.id, digests });
  }
  disconnect(target: FuncletInfo): void {
    this.disconnected.push(target.id);
  }
}

function ok(sandboxId: string) {
  return create(InvocationResultSchema, { result: new TextEncoder().encode(JSON.stringify({ from: sandboxId })) });
}

/** A promise the test resolves by hand, to hold invocations in flight. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

function setup(options: { limits?: Partial<SchedulerLimits>; funclets?: FuncletInfo[]; fn?: FunctionConfig } = {}) {
  const fake = new FakeFunclets();
  const live = { funclets: options.funclets ?? [funclet()] };
  let current = options.fn ?? fnConfig();
  const scheduler = new Scheduler({
    funclets: fake,
    membership: { live: async () => live.funclets },
    log: quiet,
    limits: { queueTimeoutMs: 1_000, maxQueue: 100, idleTtlMs: 60_000, ...options.limits },
  });
  const runner = new InvocationRunner({
    scheduler,
    funclets: fake,
    functions: {
      get: async (name) => {
        if (name !== current.name) throw new PlatformError('function_not_found', `no function named ${name}`);
        return current;
      },
    },
  });
  const invoke = (callId = '', deadlineMs = Infinity, signal?: AbortSignal) =>
    runner.run(create(InvocationSchema, { functionName: 'hello', callId }), { deadlineMs, signal });
  return { fake, live, scheduler, invoke, deploy: (fn: FunctionConfig) => (current = fn) };
}

async function platformCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PlatformError);
  return (error as PlatformError).code;
}

describe('scheduling invocations', () => {
  it('creates a sandbox on the first call and reuses it, warm, for the next', async () => {
    const { fake, invoke } = setup();
    const first = await invoke('call-1');
    const second = await invoke();
    expect(fake.created).toHaveLength(1);
    expect(first).toMatchObject({ callId: 'call-1', sandboxId: 'sb-1', coldStart: true, functionVersion: 1n });
    expect(second).toMatchObject({ sandboxId: 'sb-1', coldStart: false });
    expect(second.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(new TextDecoder().decode(second.result))).toEqual({ from: 'sb-1' });
  });

  it('rejects bad names and call ids before asking anyone', async () => {
    const { fake, scheduler } = setup();
    const runner = new InvocationRunner({ scheduler, funclets: fake, functions: { get: async () => fnConfig() } });
    const run = (init: MessageInitShape<typeof InvocationSchema>) => runner.run(create(InvocationSchema, init), { deadlineMs: Infinity });
    expect(await platformCode(run({ functionName: 'Bad_Name' }))).toBe('invalid_function_name');
    expect(await platformCode(run({ functionName: 'hello', callId: 'has space' }))).toBe('bad_request');
    expect(fake.created).toHaveLength(0);
  });

  it('passes function_not_found through from the registry', async () => {
    const { invoke, deploy } = setup();
    deploy(fnConfig({ name: 'other' }));
    expect(await platformCode(invoke())).toBe('function_not_found');
  });

  it('runs calls in parallel up to max_concurrency, then queues them in order', async () => {
    const { fake, invoke } = setup({ fn: fnConfig({ maxConcurrency: 2 }) });
    const held = gate();
    const order: string[] = [];
    fake.behaviour = async (sandboxId, invocation) => {
      await held.opened;
      order.push(invocation.callId);
      return { result: ok(sandboxId), sandboxLost: false };
    };
    const calls = ['a', 'b', 'c', 'd'].map((id) => invoke(id));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.created).toHaveLength(2);
    expect(fake.invoked).toHaveLength(2);
    held.open();
    const results = await Promise.all(calls);
    expect(fake.created).toHaveLength(2);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(results.map((r) => r.coldStart)).toEqual([true, true, false, false]);
  });

  it('answers too_many_requests when the wait queue is full', async () => {
    const { fake, invoke } = setup({ fn: fnConfig({ maxConcurrency: 1 }), limits: { maxQueue: 1 } });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId), sandboxLost: false };
    };
    const running = invoke('running');
    await new Promise((resolve) => setTimeout(resolve, 10));
    const queued = invoke('queued');
    expect(await platformCode(invoke('rejected'))).toBe('too_many_requests');
    held.open();
    await expect(running).resolves.toMatchObject({ callId: 'running' });
    await expect(queued).resolves.toMatchObject({ callId: 'queued', coldStart: false });
  });

  it('answers deadline_exceeded when no sandbox frees up in time', async () => {
    const { fake, invoke } = setup({ fn: fnConfig({ maxConcurrency: 1 }), limits: { queueTimeoutMs: 50 } });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId), sandboxLost: false };
    };
    const running = invoke();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    expect(await platformCode(invoke())).toBe('deadline_exceeded');
    expect(Date.now() - started).toBeLessThan(500);
    // The caller's own deadline wins when it is shorter than the queue timeout.
    expect(await platformCode(invoke('', Date.now() + 20))).toBe('deadline_exceeded');
    held.open();
    await running;
    // The waiters that gave up left nothing behind: the next call is warm.
    await expect(invoke()).resolves.toMatchObject({ coldStart: false, sandboxId: 'sb-1' });
  });

  it('serves a new version from a new sandbox and destroys the old one', async () => {
    const { fake, invoke, deploy } = setup();
    await invoke();
    deploy(fnConfig({ version: 2n }));
    const result = await invoke();
    expect(result).toMatchObject({ sandboxId: 'sb-2', coldStart: true, functionVersion: 2n });
    expect(fake.created.map((c) => c.version)).toEqual([1n, 2n]);
    expect(fake.destroyed).toEqual(['sb-1']);
  });

  it('destroys a busy sandbox of an old version once its call finishes', async () => {
    const { fake, invoke, deploy, scheduler } = setup();
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      if (sandboxId === 'sb-1') await held.opened;
      return { result: ok(sandboxId), sandboxLost: false };
    };
    const oldCall = invoke();
    await new Promise((resolve) => setTimeout(resolve, 10));
    deploy(fnConfig({ version: 2n }));
    await invoke();
    expect(fake.destroyed).toEqual([]);
    held.open();
    await oldCall;
    expect(fake.destroyed).toEqual(['sb-1']);
    expect(scheduler.sandboxes().map((s) => s.id)).toEqual(['sb-2']);
  });

  it('forgets a sandbox the funclet reports lost, and starts a fresh one next time', async () => {
    const { fake, invoke, scheduler } = setup();
    fake.behaviour = async () => ({
      result: create(InvocationResultSchema, { functionError: { type: 'Timeout', message: 'timed out' } }),
      sandboxLost: true,
    });
    const lost = await invoke();
    expect(lost.functionError?.type).toBe('Timeout');
    expect(scheduler.sandboxes()).toEqual([]);
    fake.behaviour = async (sandboxId) => ({ result: ok(sandboxId), sandboxLost: false });
    await expect(invoke()).resolves.toMatchObject({ sandboxId: 'sb-2', coldStart: true });
  });

  it('returns an init error as the function error, leaving no sandbox', async () => {
    const { fake, invoke, scheduler } = setup({ fn: fnConfig({ maxConcurrency: 1 }) });
    fake.createOutcome = () => ({ initError: create(FunctionErrorSchema, { type: 'HandlerNotFound', message: 'index.handler is not exported' }) });
    const result = await invoke('c1');
    expect(result.functionError).toMatchObject({ type: 'HandlerNotFound', message: 'index.handler is not exported' });
    expect(result).toMatchObject({ callId: 'c1', coldStart: true, functionVersion: 1n, sandboxId: '' });
    expect(fake.invoked).toEqual([]);
    expect(scheduler.sandboxes()).toEqual([]);
    // The slot was given back: with max_concurrency 1 another call can still create.
    fake.createOutcome = () => ({ sandboxId: 'sb-ok' });
    await expect(invoke()).resolves.toMatchObject({ sandboxId: 'sb-ok' });
  });

  it('answers no_funclets when no funclet is alive', async () => {
    const { invoke } = setup({ funclets: [] });
    expect(await platformCode(invoke())).toBe('no_funclets');
  });

  it('retries once on another sandbox when the funclet no longer knows the first', async () => {
    const { fake, invoke } = setup();
    await invoke();
    fake.behaviour = async (sandboxId) => {
      if (sandboxId === 'sb-1') throw new PlatformError('sandbox_not_found', 'gone');
      return { result: ok(sandboxId), sandboxLost: false };
    };
    await expect(invoke()).resolves.toMatchObject({ sandboxId: 'sb-2', coldStart: true });
    expect(fake.invoked).toEqual(['sb-1', 'sb-1', 'sb-2']);
  });

  it('forgets every sandbox of an unreachable funclet and answers service_unavailable', async () => {
    const { fake, invoke, scheduler } = setup();
    await invoke();
    fake.behaviour = async () => {
      throw new FuncletUnreachableError('f1', 'connection refused');
    };
    expect(await platformCode(invoke())).toBe('service_unavailable');
    expect(scheduler.sandboxes()).toEqual([]);
    expect(fake.disconnected).toEqual(['f1']);
  });

  it('forgets the sandboxes of a funclet that restarted or stopped heartbeating', async () => {
    const { fake, invoke, scheduler, live } = setup();
    await invoke();
    live.funclets = [funclet({ bootId: 'boot-2' })];
    await scheduler.maintain();
    expect(scheduler.sandboxes()).toEqual([]);
    await invoke();
    expect(scheduler.sandboxes().map((s) => s.id)).toEqual(['sb-2']);
    live.funclets = [];
    await scheduler.maintain();
    expect(scheduler.sandboxes()).toEqual([]);
    // Sandboxes of a gone funclet are not destroyed: there is nobody to ask.
    expect(fake.destroyed).toEqual([]);
  });

  it('creates sandboxes on the funclet with the most free memory, spreading a burst', async () => {
    const { fake, invoke } = setup({
      fn: fnConfig({ memoryMb: 512 }),
      funclets: [funclet({ id: 'small', memoryMbTotal: 2048, memoryMbUsed: 1024 }), funclet({ id: 'big', memoryMbTotal: 2048, memoryMbUsed: 0 })],
    });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId), sandboxLost: false };
    };
    const calls = [invoke(), invoke(), invoke()];
    await new Promise((resolve) => setTimeout(resolve, 20));
    held.open();
    await Promise.all(calls);
    // big: 2048 free → 1536 → 1024 ties with small, which is first in the list.
    expect(fake.created.map((c) => c.funcletId)).toEqual(['big', 'big', 'small']);
  });

  it('skips funclets without the runtime', async () => {
    const { invoke } = setup({ funclets: [funclet({ runtimes: ['python3'] })] });
    expect(await platformCode(invoke())).toBe('no_funclets');
  });

  it('destroys sandboxes idle for longer than the idle TTL', async () => {
    const { fake, invoke, scheduler } = setup({ limits: { idleTtlMs: 30 } });
    await invoke();
    await scheduler.maintain();
    expect(fake.destroyed).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await scheduler.maintain();
    expect(fake.destroyed).toEqual(['sb-1']);
    expect(scheduler.sandboxes()).toEqual([]);
  });

  it('destroys every sandbox it created when closed', async () => {
    const { fake, invoke, scheduler } = setup({ fn: fnConfig({ maxConcurrency: 2 }) });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId), sandboxLost: false };
    };
    const calls = [invoke(), invoke()];
    await new Promise((resolve) => setTimeout(resolve, 10));
    await scheduler.close(1_000);
    expect(fake.destroyed.sort()).toEqual(['sb-1', 'sb-2']);
    held.open();
    await Promise.all(calls);
    expect(await platformCode(invoke())).toBe('service_unavailable');
  });
});

describe('code prefetch on deploy', () => {
  const threeFunclets = [
    funclet({ id: 'busy', memoryMbUsed: 3000 }),
    funclet({ id: 'idle', memoryMbUsed: 0 }),
    funclet({ id: 'half', memoryMbUsed: 2000 }),
    funclet({ id: 'python-only', memoryMbUsed: 0, runtimes: ['python3'] }),
  ];

  it('sends the code to the two funclets the next sandboxes would go to', async () => {
    const { fake, scheduler } = setup({ funclets: threeFunclets });
    const digest = `sha256:${'a'.repeat(64)}`;
    await scheduler.prefetchCode(fnConfig({ codeDigest: digest }));
    expect(fake.prefetched.map((p) => p.funcletId)).toEqual(['idle', 'half']);
    expect(fake.prefetched[0]!.digests).toEqual([digest]);
  });

  it('is best effort: a funclet that fails is only logged', async () => {
    const { fake, scheduler } = setup({ funclets: threeFunclets });
    fake.prefetchFails = true;
    await expect(scheduler.prefetchCode(fnConfig({ codeDigest: `sha256:${'b'.repeat(64)}` }))).resolves.toBeUndefined();
    expect(fake.prefetched).toEqual([]);
  });
});
