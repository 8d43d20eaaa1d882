// Placement and the call runner together, against a fake funclet: where
// calls go, how slots and leases are counted, and what each failure does to
// the books.
import { describe, expect, it } from 'vitest';
import { PeerGoneError, type CallTracking, type SandboxCallInit } from '@faas/client';
import { PlatformError } from '@faas/errors';
import {
  CallOutcomeSchema,
  create,
  FunctionConfigSchema,
  InvocationResultSchema,
  InvocationSchema,
  LeaseRenewalSchema,
  type CallOutcome,
  type FunctionConfig,
  type FunctionError,
  type Invocation,
  type InvocationResult,
  type MessageInitShape,
  type SandboxReport,
  SandboxReportSchema,
} from '@faas/protocol';
import type { LeaseHolder } from './books.js';
import { CallRunner } from './call-runner.js';
import { prefetchCode } from './code-prefetch.js';
import type { FuncletInfo, FuncletPort } from './funclet-port.js';
import { MemoryConcurrencyBook } from './memory-concurrency-book.js';
import { Placement, type PlacementLimits, type SlotSignals } from './placement.js';

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

type Behaviour = (sandboxId: string, invocation: Invocation) => Promise<{ result: InvocationResult; sandboxLost?: boolean }>;

/** A funclet that records what it is asked and answers as each test tells it, as its Calls stream would. */
class FakeFunclets implements FuncletPort {
  created: { funcletId: string; sandboxId: string; version: bigint }[] = [];
  destroyed: string[] = [];
  invoked: string[] = [];
  disconnected: string[] = [];
  prefetched: { funcletId: string; digests: readonly string[] }[] = [];
  prefetchFails = false;
  private sandboxCount = 0;
  private readonly callsOn = new Map<string, number>();
  createOutcome: (fn: FunctionConfig) => { sandboxId: string } | { initError: FunctionError } | Promise<{ sandboxId: string } | { initError: FunctionError }> = () => ({
    sandboxId: `sb-${++this.sandboxCount}`,
  });
  behaviour: Behaviour = async (sandboxId) => ({ result: ok(sandboxId) });

  /** As the real link does: a caller who gives up is answered at once; the call is over on the wire when the funclet answers. */
  call(target: FuncletInfo, call: SandboxCallInit, tracking: CallTracking, onCreated?: (sandboxId: string) => void): Promise<CallOutcome> {
    const answer = this.answer(target, call, onCreated).finally(() => tracking.onClosed?.());
    const cancellation = tracking.cancellation;
    if (!cancellation) return answer;
    return new Promise((resolve, reject) => {
      const stop = cancellation.onCancel(() => reject(new PlatformError('deadline_exceeded', 'the caller gave up')));
      answer.then(resolve, reject).finally(stop);
    });
  }

  private async answer(target: FuncletInfo, call: SandboxCallInit, onCreated?: (sandboxId: string) => void): Promise<CallOutcome> {
    {
      let sandboxId = call.sandboxId ?? '';
      if (!sandboxId) {
        const made = await this.createOutcome(call.function!);
        if ('initError' in made) {
          return create(CallOutcomeSchema, { result: { functionError: made.initError, coldStart: true, functionVersion: call.function!.version } });
        }
        sandboxId = made.sandboxId;
        this.created.push({ funcletId: target.id, sandboxId, version: call.function!.version });
        onCreated?.(sandboxId);
      }
      this.invoked.push(sandboxId);
      const calls = this.callsOn.get(sandboxId) ?? 0;
      this.callsOn.set(sandboxId, calls + 1);
      try {
        const { result, sandboxLost } = await this.behaviour(sandboxId, call.invocation);
        result.sandboxId ||= sandboxId;
        result.coldStart = calls === 0;
        return create(CallOutcomeSchema, { result, sandboxLost: sandboxLost ?? false });
      } catch (error) {
        if (error instanceof PeerGoneError) throw error;
        const failure = error as PlatformError;
        return create(CallOutcomeSchema, { failure: { code: failure.code, message: failure.message } });
      }
    }
  }
  async createSandbox(target: FuncletInfo, request: { fn: FunctionConfig }): Promise<{ sandboxId: string } | { initError: FunctionError }> {
    const made = await this.createOutcome(request.fn);
    if ('sandboxId' in made) this.created.push({ funcletId: target.id, sandboxId: made.sandboxId, version: request.fn.version });
    return made;
  }
  async destroySandbox(_target: FuncletInfo, sandboxId: string): Promise<void> {
    this.destroyed.push(sandboxId);
  }
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

const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** An edge holding leases: records what the controller revokes. */
function edge(id = 'edge-1'): LeaseHolder & { revoked: string[] } {
  const revoked: string[] = [];
  return { id, revoked, revoke: (ids) => void revoked.push(...ids) };
}

/** Signals between controllers, as the test sees them. */
function signals() {
  const sent: string[] = [];
  return { sent, wanted: (name: string) => void sent.push(`wanted ${name}`), freed: (name: string) => void sent.push(`freed ${name}`) };
}

function setup(
  options: {
    limits?: Partial<PlacementLimits>;
    funclets?: FuncletInfo[];
    fn?: FunctionConfig;
    now?: () => number;
    book?: MemoryConcurrencyBook;
    controllerId?: string;
    signals?: SlotSignals;
  } = {},
) {
  const fake = new FakeFunclets();
  const live = { funclets: options.funclets ?? [funclet()] };
  let current = options.fn ?? fnConfig();
  const signalled = signals();
  const placement = new Placement({
    controllerId: options.controllerId ?? 'controller-1',
    funclets: fake,
    membership: { live: () => live.funclets },
    book: options.book ?? new MemoryConcurrencyBook(),
    signals: options.signals ?? signalled,
    log: quiet,
    limits: { queueTimeoutMs: 1_000, maxQueue: 100, leaseTtlMs: 10_000, ...options.limits },
    now: options.now,
  });
  const runner = new CallRunner({
    placement,
    funclets: fake,
    functions: {
      get: async (name) => {
        if (name !== current.name) throw new PlatformError('function_not_found', `no function named ${name}`);
        return current;
      },
    },
  });
  const run = (callId = '', options: { deadlineMs?: number; signal?: AbortSignal; leaseTo?: LeaseHolder } = {}) =>
    runner.run(create(InvocationSchema, { functionName: 'hello', callId }), { deadlineMs: Infinity, ...options });
  const invoke = async (callId = '', deadlineMs = Infinity, signal?: AbortSignal) => (await run(callId, { deadlineMs, signal })).result;
  return { fake, live, placement, runner, run, invoke, signalled, deploy: (fn: FunctionConfig) => (current = fn) };
}

async function platformCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PlatformError);
  return (error as PlatformError).code;
}

describe('placing and running calls', () => {
  it('creates a sandbox on the first call and reuses it, warm, for the next', async () => {
    const { fake, invoke } = setup();
    const first = await invoke('call-1');
    const second = await invoke();
    expect(fake.created).toHaveLength(1);
    expect(first).toMatchObject({ callId: 'call-1', sandboxId: 'sb-1', coldStart: true });
    expect(second).toMatchObject({ sandboxId: 'sb-1', coldStart: false });
    expect(second.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(new TextDecoder().decode(second.result))).toEqual({ from: 'sb-1' });
  });

  it('rejects bad names and call ids before asking anyone', async () => {
    const { fake, runner } = setup();
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
      return { result: ok(sandboxId) };
    };
    const calls = ['a', 'b', 'c', 'd'].map((id) => invoke(id));
    await settle();
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
      return { result: ok(sandboxId) };
    };
    const running = invoke('running');
    await settle(10);
    const queued = invoke('queued');
    expect(await platformCode(invoke('rejected'))).toBe('too_many_requests');
    held.open();
    await expect(running).resolves.toMatchObject({ callId: 'running' });
    await expect(queued).resolves.toMatchObject({ callId: 'queued', coldStart: false });
  });

  it('answers too_many_requests with a retry hint when the queue times out, deadline_exceeded when the caller\'s deadline does', async () => {
    const { fake, invoke } = setup({ fn: fnConfig({ maxConcurrency: 1 }), limits: { queueTimeoutMs: 50 } });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId) };
    };
    const running = invoke();
    await settle(10);
    const refused = await invoke().then(() => undefined, (error: PlatformError) => error);
    expect(refused).toMatchObject({ code: 'too_many_requests', retryAfterMs: 1_000 });
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
    expect(result).toMatchObject({ sandboxId: 'sb-2', coldStart: true });
    expect(fake.created.map((c) => c.version)).toEqual([1n, 2n]);
    expect(fake.destroyed).toEqual(['sb-1']);
  });

  it('destroys a busy sandbox of an old version once its call finishes', async () => {
    const { fake, invoke, deploy, placement } = setup();
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      if (sandboxId === 'sb-1') await held.opened;
      return { result: ok(sandboxId) };
    };
    const oldCall = invoke();
    await settle(10);
    deploy(fnConfig({ version: 2n }));
    await invoke();
    expect(fake.destroyed).toEqual([]);
    held.open();
    await oldCall;
    expect(fake.destroyed).toEqual(['sb-1']);
    expect(placement.sandboxes().map((s) => s.id)).toEqual(['sb-2']);
  });

  it('forgets a sandbox the funclet reports lost, and starts a fresh one next time', async () => {
    const { fake, invoke, placement } = setup();
    fake.behaviour = async () => ({ result: create(InvocationResultSchema, { functionError: { type: 'Timeout', message: 'timed out' } }), sandboxLost: true });
    const lost = await invoke();
    expect(lost.functionError?.type).toBe('Timeout');
    expect(placement.sandboxes()).toEqual([]);
    fake.behaviour = async (sandboxId) => ({ result: ok(sandboxId) });
    await expect(invoke()).resolves.toMatchObject({ sandboxId: 'sb-2', coldStart: true });
  });

  it('returns an init error as the function error, leaving no sandbox', async () => {
    const clock = { ms: Date.now() };
    const { fake, invoke, placement } = setup({ fn: fnConfig({ maxConcurrency: 1 }), now: () => clock.ms });
    fake.createOutcome = () => ({ initError: create(InvocationResultSchema, { functionError: { type: 'HandlerNotFound', message: 'index.handler is not exported' } }).functionError! });
    const result = await invoke('c1');
    expect(result.functionError).toMatchObject({ type: 'HandlerNotFound', message: 'index.handler is not exported' });
    expect(result).toMatchObject({ callId: 'c1', coldStart: true, functionVersion: 1n, sandboxId: '' });
    expect(fake.invoked).toEqual([]);
    expect(placement.sandboxes()).toEqual([]);
    // The slot was given back: with max_concurrency 1 another call can still create, once the pause is over.
    clock.ms += 1_100;
    fake.createOutcome = () => ({ sandboxId: 'sb-ok' });
    await expect(invoke()).resolves.toMatchObject({ sandboxId: 'sb-ok' });
  });

  it('pauses the cold starts of a version that keeps failing to start, longer each time, until one starts', async () => {
    const clock = { ms: Date.now() };
    const { fake, invoke } = setup({ now: () => clock.ms });
    let attempts = 0;
    const initError = create(InvocationResultSchema, { functionError: { type: 'InitError', message: 'boom at import' } }).functionError!;
    fake.createOutcome = () => (attempts++, { initError });
    const call = async () => (await invoke()).functionError?.message;
    expect(await call()).toBe('boom at import');
    // Within the pause the same error comes back without a cold start.
    expect([await call(), await call(), attempts]).toEqual(['boom at import', 'boom at import', 1]);
    clock.ms += 1_000;
    expect([await call(), attempts]).toEqual(['boom at import', 2]);
    clock.ms += 1_500;
    expect([await call(), attempts]).toEqual(['boom at import', 2]);
    clock.ms += 600;
    fake.createOutcome = () => (attempts++, { sandboxId: 'sb-fixed' });
    expect((await invoke()).sandboxId).toBe('sb-fixed');
    expect(attempts).toBe(3);
  });

  it('answers no_funclets when no funclet is alive', async () => {
    const { invoke } = setup({ funclets: [] });
    expect(await platformCode(invoke())).toBe('no_funclets');
  });

  it('tries another sandbox when the funclet no longer knows the first', async () => {
    const { fake, invoke } = setup();
    await invoke();
    fake.behaviour = async (sandboxId) => {
      if (sandboxId === 'sb-1') throw new PlatformError('sandbox_not_found', 'gone');
      return { result: ok(sandboxId) };
    };
    await expect(invoke()).resolves.toMatchObject({ sandboxId: 'sb-2', coldStart: true });
    expect(fake.invoked).toEqual(['sb-1', 'sb-1', 'sb-2']);
  });

  it('forgets every sandbox of a funclet whose stream broke and answers service_unavailable', async () => {
    const { fake, invoke, placement } = setup();
    await invoke();
    fake.behaviour = async () => {
      throw new PeerGoneError('funclet 127.0.0.1:1', 'connection reset');
    };
    expect(await platformCode(invoke())).toBe('service_unavailable');
    expect(placement.sandboxes()).toEqual([]);
    expect(fake.disconnected).toEqual(['f1']);
  });

  it('forgets, without destroying, the sandboxes of a funclet that went away', async () => {
    const { fake, invoke, placement } = setup();
    await invoke();
    placement.forgetFunclet('f1', 'its stream ended');
    expect(placement.sandboxes()).toEqual([]);
    // Nobody to ask: its sandboxes went with it.
    expect(fake.destroyed).toEqual([]);
    expect(fake.disconnected).toEqual(['f1']);
    await invoke();
    expect(placement.sandboxes().map((s) => s.id)).toEqual(['sb-2']);
  });

  it('creates sandboxes on the funclet with the most free memory, spreading a burst', async () => {
    const { fake, invoke } = setup({
      fn: fnConfig({ memoryMb: 512 }),
      funclets: [funclet({ id: 'small', memoryMbTotal: 2048, memoryMbUsed: 1024 }), funclet({ id: 'big', memoryMbTotal: 2048, memoryMbUsed: 0 })],
    });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId) };
    };
    const calls = [invoke(), invoke(), invoke()];
    await settle();
    held.open();
    await Promise.all(calls);
    // big: 2048 free → 1536 → 1024 ties with small, which is first in the list.
    expect(fake.created.map((c) => c.funcletId)).toEqual(['big', 'big', 'small']);
  });

  it('skips funclets without the runtime', async () => {
    const { invoke } = setup({ funclets: [funclet({ runtimes: ['python3'] })] });
    expect(await platformCode(invoke())).toBe('no_funclets');
  });

  it('destroys sandboxes idle for longer than their function\'s idle timeout', async () => {
    const clock = { ms: Date.now() };
    const { fake, invoke, placement } = setup({ fn: fnConfig({ idleTimeoutSeconds: 2 }), now: () => clock.ms });
    await invoke();
    clock.ms += 1_900;
    await placement.maintain();
    expect(fake.destroyed).toEqual([]);
    clock.ms += 200;
    await placement.maintain();
    expect(fake.destroyed).toEqual(['sb-1']);
    expect(placement.sandboxes()).toEqual([]);
  });

  it('leaves its sandboxes and their reservations to its successor when closed, and places nothing more', async () => {
    const book = new MemoryConcurrencyBook();
    const { fake, invoke, placement } = setup({ fn: fnConfig({ maxConcurrency: 2 }), book });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId) };
    };
    const calls = [invoke(), invoke()];
    await settle(10);
    placement.close();
    held.open();
    await Promise.all(calls);
    expect(fake.destroyed).toEqual([]);
    expect(await book.held('hello')).toBe(2);
    expect(await platformCode(invoke())).toBe('service_unavailable');
  });
});

describe('several calls per sandbox', () => {
  it('packs calls onto one sandbox up to its concurrency, the rest wait for the sandbox being made', async () => {
    const { fake, invoke, placement } = setup({ fn: fnConfig({ concurrencyPerSandbox: 3, maxConcurrency: 6 }) });
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId) };
    };
    const calls = Array.from({ length: 5 }, (_, i) => invoke(`c${i}`));
    await settle();
    // Three on the first sandbox (one made it, two waited for it), two on a second.
    expect(fake.created.map((c) => c.sandboxId)).toEqual(['sb-1', 'sb-2']);
    expect(placement.sandboxes().map((s) => s.used).sort()).toEqual([2, 3]);
    held.open();
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.sandboxId === 'sb-1')).toHaveLength(3);
    expect(placement.sandboxes().map((s) => s.used)).toEqual([0, 0]);
  });

  it('sends no more calls to a sandbox its funclet called full until a report says it has room', async () => {
    const { fake, invoke, placement } = setup({ fn: fnConfig({ concurrencyPerSandbox: 4 }) });
    await invoke();
    // The funclet runs calls these books do not count (an edge's, given up on by their callers).
    fake.behaviour = async (sandboxId) => {
      if (sandboxId === 'sb-1') throw new PlatformError('sandbox_busy', 'sandbox sb-1 is already running 4 calls');
      return { result: ok(sandboxId) };
    };
    const result = await invoke();
    expect(result.sandboxId).toBe('sb-2');
    expect(fake.invoked).toEqual(['sb-1', 'sb-1', 'sb-2']);
    const [full] = placement.sandboxes().filter((sandbox) => sandbox.id === 'sb-1');
    expect(full!.untracked).toBe(4);
    // The next report says those calls ended: the sandbox takes calls again.
    placement.applyReport(funclet(), [create(SandboxReportSchema, { sandboxId: 'sb-1', functionName: 'hello', functionVersion: 1n, concurrency: 4, inFlight: 0, owner: 'controller-1' })]);
    expect(full!.untracked).toBe(0);
  });

  it('never counts more calls than max_concurrency, whatever the sandboxes could take', async () => {
    const { fake, invoke } = setup({ fn: fnConfig({ concurrencyPerSandbox: 10, maxConcurrency: 2 }), limits: { queueTimeoutMs: 50 } });
    const held = gate();
    let running = 0;
    let most = 0;
    fake.behaviour = async (sandboxId) => {
      most = Math.max(most, ++running);
      await held.opened;
      running--;
      return { result: ok(sandboxId) };
    };
    const calls = Array.from({ length: 4 }, () => invoke().catch((error: PlatformError) => error.code));
    await settle();
    held.open();
    const outcomes = await Promise.all(calls);
    expect(most).toBe(2);
    expect(fake.created).toHaveLength(1);
    expect(outcomes.filter((outcome) => typeof outcome !== 'string')).toHaveLength(4);
  });

  it('gives the calls waiting on a sandbox that fails to load the same init error', async () => {
    const { fake, invoke } = setup({ fn: fnConfig({ concurrencyPerSandbox: 4 }) });
    const made = gate();
    fake.createOutcome = async () => {
      await made.opened;
      return { initError: create(InvocationResultSchema, { functionError: { type: 'InitError', message: 'syntax' } }).functionError! };
    };
    const calls = [invoke(), invoke(), invoke()];
    await settle();
    made.open();
    const results = await Promise.all(calls);
    expect(results.map((r) => r.functionError?.type)).toEqual(['InitError', 'InitError', 'InitError']);
  });
});

describe('leases', () => {
  it('hands the slot of a finished call to the edge that asked, merged per sandbox', async () => {
    const { run, placement } = setup({ fn: fnConfig({ concurrencyPerSandbox: 4 }) });
    const holder = edge();
    const first = await run('a', { leaseTo: holder });
    expect(first.lease).toMatchObject({ holder, slots: 1 });
    expect(first.lease!.expiresAtMs).toBeLessThan(Infinity);
    const second = await run('b', { leaseTo: holder });
    expect(second.lease).toBe(first.lease);
    expect(second.lease!.slots).toBe(2);
    expect(placement.sandboxes()[0]!.used).toBe(2);
  });

  it('renews what the edge still uses, frees what it gives back, and answers leases it does not know', async () => {
    const { run, placement } = setup({ fn: fnConfig({ concurrencyPerSandbox: 4 }) });
    const holder = edge();
    await run('a', { leaseTo: holder });
    const { lease } = await run('b', { leaseTo: holder });
    const renewal = (slots: number, leaseId = lease!.id) => create(LeaseRenewalSchema, { leaseId, slots });
    expect(placement.renew(holder, [renewal(1)])).toEqual({ renewed: [lease], unknown: [] });
    expect(placement.sandboxes()[0]!.used).toBe(1);
    // Another holder cannot renew it, nor can anyone renew what this controller never granted.
    expect(placement.renew(edge('edge-2'), [renewal(1)]).unknown).toEqual([lease!.id]);
    expect(placement.renew(holder, [renewal(1, 'x-1')]).unknown).toEqual(['x-1']);
    placement.renew(holder, [renewal(0)]);
    expect(placement.sandboxes()[0]!.used).toBe(0);
  });

  it('asks edges to give slots back when calls wait, and the waiter runs once they do', async () => {
    const { run, invoke, placement } = setup({ fn: fnConfig({ maxConcurrency: 1 }) });
    const holder = edge();
    const { lease } = await run('a', { leaseTo: holder });
    const waiting = invoke('waits');
    await settle(10);
    expect(holder.revoked).toEqual([lease!.id]);
    placement.renew(holder, [create(LeaseRenewalSchema, { leaseId: lease!.id, slots: 0 })]);
    await expect(waiting).resolves.toMatchObject({ callId: 'waits', coldStart: false });
  });

  it('frees the leases of an edge whose stream ended, and those it stops renewing', async () => {
    const { run, placement } = setup({ fn: fnConfig({ concurrencyPerSandbox: 4 }), limits: { leaseTtlMs: 30 } });
    const gone = edge('gone');
    const quiet = edge('quiet');
    await run('a', { leaseTo: gone });
    await run('b', { leaseTo: quiet });
    expect(placement.sandboxes()[0]!.used).toBe(2);
    placement.holderGone(gone);
    expect(placement.sandboxes()[0]!.used).toBe(1);
    await settle(40);
    placement.expireLeases();
    expect(placement.sandboxes()[0]!.used).toBe(0);
  });

  it('revokes the leases on an older version when a deploy is seen, and drains that sandbox', async () => {
    const { run, placement, fake } = setup();
    const holder = edge();
    const { lease } = await run('a', { leaseTo: holder });
    placement.observe(fnConfig({ version: 2n }));
    expect(holder.revoked).toEqual([lease!.id]);
    expect(fake.destroyed).toEqual([]);
    placement.renew(holder, [create(LeaseRenewalSchema, { leaseId: lease!.id, slots: 0 })]);
    expect(fake.destroyed).toEqual(['sb-1']);
  });

  it('revokes every lease of a deleted function and destroys its sandboxes as they drain', async () => {
    const { run, placement, fake } = setup();
    const holder = edge();
    const { lease } = await run('a', { leaseTo: holder });
    placement.functionGone('hello');
    expect(holder.revoked).toEqual([lease!.id]);
    placement.renew(holder, [create(LeaseRenewalSchema, { leaseId: lease!.id, slots: 0 })]);
    expect(fake.destroyed).toEqual(['sb-1']);
  });

  it('takes a sandbox off the books when the edge says its funclet no longer has it', async () => {
    const { run, placement } = setup();
    const holder = edge();
    const { lease } = await run('a', { leaseTo: holder });
    placement.renew(holder, [create(LeaseRenewalSchema, { leaseId: lease!.id, slots: 1, sandboxGone: true })]);
    expect(placement.sandboxes()).toEqual([]);
  });

  it('keeps a slot whose caller gave up until the funclet says the call ended', async () => {
    const { fake, run, placement } = setup({ fn: fnConfig({ maxConcurrency: 1 }) });
    await run('warm');
    const held = gate();
    fake.behaviour = async (sandboxId) => {
      await held.opened;
      return { result: ok(sandboxId) };
    };
    const abort = new AbortController();
    const abandoned = run('abandoned', { signal: abort.signal });
    await settle(10);
    abort.abort();
    // The fake funclet answers only when the handler ends; until then the slot stays taken.
    expect(await platformCode(abandoned)).toBe('deadline_exceeded');
    expect(placement.sandboxes()[0]!.used).toBe(1);
    held.open();
    await settle(10);
    expect(placement.sandboxes()[0]!.used).toBe(0);
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
    const { fake, placement } = setup({ funclets: threeFunclets });
    const digest = `sha256:${'a'.repeat(64)}`;
    await prefetchCode(fnConfig({ codeDigest: digest }), { placement, funclets: fake, log: quiet });
    expect(fake.prefetched.map((p) => p.funcletId)).toEqual(['idle', 'half']);
    expect(fake.prefetched[0]!.digests).toEqual([digest]);
  });

  it('is best effort: a funclet that fails is only logged', async () => {
    const { fake, placement } = setup({ funclets: threeFunclets });
    fake.prefetchFails = true;
    await expect(prefetchCode(fnConfig({ codeDigest: `sha256:${'b'.repeat(64)}` }), { placement, funclets: fake, log: quiet })).resolves.toBeUndefined();
    expect(fake.prefetched).toEqual([]);
  });
});

/** A sandbox as a funclet reports it. */
function reported(overrides: MessageInitShape<typeof SandboxReportSchema> = {}): SandboxReport {
  return create(SandboxReportSchema, { sandboxId: 'sb-9', functionName: 'hello', functionVersion: 1n, memoryMb: 128, concurrency: 1, owner: 'controller-1', ...overrides });
}

describe('funclet reports', () => {
  it('drops a sandbox its funclet no longer reports, once it is older than the report could know', async () => {
    const clock = { ms: Date.now() };
    const { invoke, placement } = setup({ now: () => clock.ms });
    await invoke();
    placement.applyReport(funclet(), []);
    expect(placement.sandboxes()).toHaveLength(1);
    clock.ms += 5_000;
    placement.applyReport(funclet(), []);
    expect(placement.sandboxes()).toEqual([]);
  });

  it('claims a sandbox nobody owns after a moment, and adopts it warm once granted', async () => {
    const { fake, invoke, placement } = setup();
    expect(placement.applyReport(funclet(), [reported({ owner: '', unownedMs: 200 })]).claim).toEqual([]);
    expect(placement.applyReport(funclet(), [reported({ owner: '', unownedMs: 1_500 })]).claim).toEqual(['sb-9']);
    const { adopt } = placement.applyReport(funclet(), [reported({ reservation: 'r-1' })]);
    expect(adopt.map((sandbox) => sandbox.sandboxId)).toEqual(['sb-9']);
    placement.adopt(funclet(), adopt[0]!, fnConfig());
    const result = await invoke();
    expect(result.sandboxId).toBe('sb-9');
    expect(fake.created).toEqual([]);
  });

  it('places beside the calls an adopted sandbox still runs for its former owner, not on top of them', async () => {
    const { fake, invoke, placement } = setup();
    placement.adopt(funclet(), reported({ inFlight: 1 }), fnConfig());
    expect((await invoke()).sandboxId).toBe('sb-1');
    expect(fake.created.map((c) => c.sandboxId)).toEqual(['sb-1']);
    // The next report says the old call ended: the adopted sandbox takes calls again.
    placement.applyReport(funclet(), [reported({ inFlight: 0 }), reported({ sandboxId: 'sb-1' })]);
    const sandboxes = placement.sandboxes().map((s) => [s.id, s.untracked]);
    expect(sandboxes).toEqual([['sb-9', 0], ['sb-1', 0]]);
  });

  it('gives up a sandbox another controller took over, leaving its reservation to that one', async () => {
    const book = new MemoryConcurrencyBook();
    const { invoke, placement } = setup({ book });
    await invoke();
    const [sandbox] = placement.sandboxes();
    placement.applyReport(funclet(), [reported({ sandboxId: sandbox!.id, owner: 'controller-2', reservation: sandbox!.reservation })]);
    expect(placement.sandboxes()).toEqual([]);
    expect(await book.held('hello')).toBe(1);
  });

  it('destroys a sandbox reported as ours that the books never held, and frees its reservation', async () => {
    const clock = { ms: Date.now() };
    const book = new MemoryConcurrencyBook(10_000, () => clock.ms);
    const { reservation } = { reservation: (await book.reserve('hello', 10, 1)).id };
    const { fake, placement } = setup({ now: () => clock.ms, book });
    placement.applyReport(funclet(), [reported({ reservation })]);
    clock.ms += 6_000;
    placement.applyReport(funclet(), [reported({ reservation })]);
    await settle(1);
    expect(fake.destroyed).toEqual(['sb-9']);
    expect(await book.held('hello')).toBe(0);
  });
});

describe('reserved concurrency', () => {
  it('makes sandboxes without a call up to the reserve, serves calls on them warm, and keeps them past the idle timeout', async () => {
    const clock = { ms: Date.now() };
    const fn = fnConfig({ reservedConcurrency: 2, idleTimeoutSeconds: 1 });
    const { fake, invoke, placement } = setup({ fn, now: () => clock.ms });
    placement.observe(fn);
    for (let round = 0; round < 6; round++) {
      clock.ms += 1_000;
      await placement.maintain();
      await settle(5);
    }
    expect(fake.created.map((c) => c.sandboxId)).toEqual(['sb-1', 'sb-2']);
    expect(fake.invoked).toEqual([]);
    expect((await invoke()).coldStart).toBe(false);
    clock.ms += 60_000;
    await placement.maintain();
    expect(fake.destroyed).toEqual([]);
    expect(placement.sandboxes()).toHaveLength(2);
  });
});

describe('limits across controllers', () => {
  it('never runs more calls than max_concurrency over two controllers, and hands idle slots to the one that waits', async () => {
    const book = new MemoryConcurrencyBook();
    const wiring: { a?: Placement; b?: Placement } = {};
    const signalsOf = (peer: () => Placement | undefined, self: string): SlotSignals => ({
      wanted: (name) => queueMicrotask(() => peer()?.onSlotsWanted(name, self)),
      freed: (name) => queueMicrotask(() => peer()?.onSlotsFreed(name)),
    });
    const fn = fnConfig({ maxConcurrency: 3 });
    const a = setup({ fn, book, controllerId: 'controller-a', signals: signalsOf(() => wiring.b, 'controller-a') });
    const b = setup({ fn, book, controllerId: 'controller-b', signals: signalsOf(() => wiring.a, 'controller-b'), limits: { queueTimeoutMs: 5_000 } });
    wiring.a = a.placement;
    wiring.b = b.placement;
    let running = 0;
    let most = 0;
    const heldA = gate();
    const heldB = gate();
    const behaviour = (held: ReturnType<typeof gate>) => async (sandboxId: string) => {
      most = Math.max(most, ++running);
      await held.opened;
      running--;
      return { result: ok(sandboxId) };
    };
    a.fake.behaviour = behaviour(heldA);
    b.fake.behaviour = behaviour(heldB);

    const onA = [a.invoke('a1'), a.invoke('a2')];
    await settle();
    const onB = [b.invoke('b1'), b.invoke('b2')];
    await settle();
    // A holds two slots, B got the third and its second call waits.
    expect([a.fake.created.length, b.fake.created.length, running]).toEqual([2, 1, 3]);
    heldA.open();
    await Promise.all(onA);
    // A's idle sandboxes go to B's waiting call instead of idling for five minutes.
    await settle(50);
    expect(b.fake.created.length).toBe(2);
    expect(a.fake.destroyed.length).toBeGreaterThanOrEqual(1);
    heldB.open();
    await Promise.all(onB);
    expect(most).toBe(3);
    expect(await book.held('hello')).toBeLessThanOrEqual(3);
  });

  it('splits the limit between controllers whose calls both wait, so neither starves behind the other\'s steady load', async () => {
    const book = new MemoryConcurrencyBook();
    const wiring: { a?: Placement; b?: Placement } = {};
    const signalsOf = (peer: () => Placement | undefined, self: string): SlotSignals => ({
      wanted: (name) => queueMicrotask(() => peer()?.onSlotsWanted(name, self)),
      freed: (name) => queueMicrotask(() => peer()?.onSlotsFreed(name)),
    });
    const fn = fnConfig({ maxConcurrency: 4 });
    // B's calls give up after a second in its queue: starving behind A's load fails them.
    const a = setup({ fn, book, controllerId: 'controller-a', signals: signalsOf(() => wiring.b, 'controller-a'), limits: { queueTimeoutMs: 10_000 } });
    const b = setup({ fn, book, controllerId: 'controller-b', signals: signalsOf(() => wiring.a, 'controller-b'), limits: { queueTimeoutMs: 1_000 } });
    wiring.a = a.placement;
    wiring.b = b.placement;
    let running = 0;
    let most = 0;
    const brief = async (sandboxId: string) => {
      most = Math.max(most, ++running);
      await settle(3);
      running--;
      return { result: ok(sandboxId) };
    };
    a.fake.behaviour = brief;
    b.fake.behaviour = brief;
    const maintaining = setInterval(() => void Promise.all([a.placement.maintain(), b.placement.maintain()]), 250);
    let loaded = true;
    // Eight callers on A, each calling again as soon as its call ends: A always has calls waiting.
    const steady = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (loaded) await a.invoke();
      }),
    );
    try {
      await settle(100);
      expect(a.fake.created.length).toBe(4);
      const onB = await Promise.all(Array.from({ length: 20 }, (_, i) => b.invoke(`b${i}`)));
      expect(onB).toHaveLength(20);
      expect(b.fake.created.length).toBeGreaterThanOrEqual(1);
      expect(most).toBeLessThanOrEqual(4);
    } finally {
      loaded = false;
      await steady;
      clearInterval(maintaining);
    }
    expect(await book.held('hello')).toBeLessThanOrEqual(4);
  });
});
