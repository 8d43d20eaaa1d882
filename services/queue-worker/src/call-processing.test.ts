import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { CallRecordSchema, CallStatus, InvocationResultSchema, create, type CallRecord } from '@faas/protocol';
import { createLogger } from '@faas/telemetry';
import { processMessage, trackMessage, type CallRecords, type Invoker, type QueueMessage, type WorkerDeps } from './call-processing.js';
import { FunctionGates } from './function-gates.js';
import type { DeadLetter } from '@faas/protocol';

const logger = createLogger('queue-worker-test', 'silent');

class FakeStore implements CallRecords {
  records = new Map<string, CallRecord>();
  down = false;
  async createIfAbsent(record: CallRecord) {
    if (this.down) throw new Error('redis down');
    if (this.records.has(record.callId)) return false;
    this.records.set(record.callId, record);
    return true;
  }
  async put(record: CallRecord) {
    if (this.down) throw new Error('redis down');
    this.records.set(record.callId, record);
  }
  async get(callId: string) {
    if (this.down) throw new Error('redis down');
    return this.records.get(callId);
  }
}

function fakeMessage(deliveryCount = 1, headers: Record<string, string> = { 'Nats-Msg-Id': 'call-1' }, subject = 'faas.invoke.echo') {
  const settled: string[] = [];
  const message: QueueMessage = {
    subject,
    data: new TextEncoder().encode('"hi"'),
    header: (name) => headers[name],
    streamSequence: 7,
    storedAtMs: 1_000,
    deliveryCount,
    ack: () => settled.push('ack'),
    nak: (delay) => settled.push(`nak:${delay}`),
    term: () => settled.push('term'),
    working: () => settled.push('working'),
  };
  return { message, settled };
}

function invoker(answer: () => Promise<{ result?: ReturnType<typeof create<typeof InvocationResultSchema>> }>): Invoker & { calls: number } {
  const fake = {
    calls: 0,
    invoke: async () => {
      fake.calls++;
      return (await answer()).result ?? create(InvocationResultSchema);
    },
  };
  return fake;
}

const deadLetters: DeadLetter[] = [];
const callbackJobs: string[] = [];
const deps = (store: CallRecords, invoker: Invoker, retryFunctionErrors = false): WorkerDeps => ({
  store,
  invoker,
  logger,
  settings: { settingsOf: async () => ({ retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 60_000, retryFunctionErrors }, callbackSecret: '', maxConcurrency: 10 }) },
  gates: new FunctionGates(),
  deadLetters: { add: async (deadLetter) => void deadLetters.push(deadLetter) },
  callbacks: { enqueue: async (job) => void callbackJobs.push(job.callId) },
  ackWaitMs: 60_000,
  now: () => 5_000,
  // The top of each full-jitter range, so delays are the backoff's ceilings.
  random: () => 0.999_999,
  storeWriteAttempts: 1,
});

describe('processMessage', () => {
  it('records the result of a successful call and acks', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => ({
      result: create(InvocationResultSchema, { result: new TextEncoder().encode('"ih"'), durationSeconds: 0.25 }),
    }));
    const { message, settled } = fakeMessage();
    await processMessage(message, deps(store, controller));
    expect(settled).toEqual(['ack']);
    const record = store.records.get('call-1')!;
    expect(record.status).toBe(CallStatus.SUCCEEDED);
    expect(new TextDecoder().decode(record.result)).toBe('"ih"');
    expect(record).toMatchObject({ attempts: 1, functionName: 'echo', durationSeconds: 0.25, queuedAtMs: 1_000n, finishedAtMs: 5_000n });
  });

  it('retries a function error when the function asks, and dead-letters it after the last attempt', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => ({ result: create(InvocationResultSchema, { functionError: { type: 'Error', message: 'always' } }) }));
    for (const delivery of [1, 2]) {
      const run = fakeMessage(delivery);
      await processMessage(run.message, deps(store, controller, true));
      expect(run.settled[0]).toMatch(/^nak:/);
    }
    const last = fakeMessage(3);
    deadLetters.length = 0;
    await processMessage(last.message, deps(store, controller, true));
    expect(last.settled).toEqual(['term']);
    const record = store.records.get('call-1')!;
    expect(record).toMatchObject({ status: CallStatus.DEAD_LETTERED, attempts: 3 });
    expect(record.attemptErrors.map((error) => error.functionError?.message)).toEqual(['always', 'always', 'always']);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.request?.invocation?.callId).toBe('call-1');
  });

  it('waits out a 429 without using an attempt', async () => {
    const store = new FakeStore();
    let throttled = true;
    const controller = invoker(async () => {
      if (throttled) throw new PlatformError('too_many_requests', 'full');
      return { result: create(InvocationResultSchema) };
    });
    const first = fakeMessage(1);
    await processMessage(first.message, deps(store, controller));
    expect(first.settled[0]).toMatch(/^nak:/);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.QUEUED, attempts: 0, throttles: 1 });
    throttled = false;
    const second = fakeMessage(2);
    await processMessage(second.message, deps(store, controller));
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.SUCCEEDED, attempts: 1, throttles: 1 });
  });

  it('stays away as long as a controller at the function\'s limit asks, and holds the function\'s other calls meanwhile', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => {
      throw new PlatformError('too_many_requests', 'waited its queue\'s deadline at the function\'s limit', { retryAfterMs: 30_000 });
    });
    let now = 5_000;
    const shared = { ...deps(store, controller), now: () => now, gates: new FunctionGates(() => now) };
    const first = fakeMessage(1);
    await processMessage(first.message, shared);
    // The backoff alone would have drawn at most 1 s (base 1 s, first throttle).
    expect(first.settled).toEqual(['nak:30000']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.QUEUED, attempts: 0, throttles: 1 });
    expect(store.records.get('call-1')!.attemptErrors.map((error) => error.errorCode)).toEqual(['too_many_requests']);

    const other = fakeMessage(1, { 'Nats-Msg-Id': 'call-2' });
    now = 20_000;
    await processMessage(other.message, shared);
    expect(controller.calls).toBe(1);
    expect(Number(other.settled[0]!.slice('nak:'.length))).toBeGreaterThanOrEqual(15_000);
    expect(store.records.has('call-2')).toBe(false);
  });

  it('records a function error as failed without retrying', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => ({ result: create(InvocationResultSchema, { functionError: { type: 'TypeError', message: 'x' } }) }));
    const { message, settled } = fakeMessage();
    await processMessage(message, deps(store, controller));
    expect(settled).toEqual(['ack']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.FAILED, functionError: { type: 'TypeError' } });
  });

  it('naks a passing platform failure with backoff, then dead-letters it on the last attempt', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => {
      throw new PlatformError('bad_gateway', 'controller failed');
    });
    const first = fakeMessage(1);
    await processMessage(first.message, deps(store, controller));
    expect(first.settled).toEqual(['nak:1000']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.QUEUED, errorCode: 'bad_gateway', attempts: 1 });

    const second = fakeMessage(2);
    await processMessage(second.message, deps(store, controller));
    expect(second.settled).toEqual(['nak:2000']);
    expect(store.records.get('call-1')).toMatchObject({ attempts: 2 });

    const last = fakeMessage(3);
    await processMessage(last.message, deps(store, controller));
    expect(last.settled).toEqual(['term']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.DEAD_LETTERED, errorCode: 'bad_gateway', attempts: 3 });
  });

  it('fails at once on a platform error that would repeat', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => {
      throw new PlatformError('function_not_found', 'no function "echo"');
    });
    const { message, settled } = fakeMessage();
    await processMessage(message, deps(store, controller));
    expect(settled).toEqual(['ack']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.FAILED, errorCode: 'function_not_found' });
  });

  it('does not run a call that already finished', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => ({ result: create(InvocationResultSchema) }));
    await processMessage(fakeMessage().message, deps(store, controller));
    const again = fakeMessage(2);
    await processMessage(again.message, deps(store, controller));
    expect(controller.calls).toBe(1);
    expect(again.settled).toEqual(['ack']);
  });

  it('hands the message back when Redis is down, without running the call', async () => {
    const store = new FakeStore();
    store.down = true;
    const controller = invoker(async () => ({ result: create(InvocationResultSchema) }));
    const { message, settled } = fakeMessage();
    await processMessage(message, deps(store, controller));
    expect(controller.calls).toBe(0);
    expect(settled).toEqual(['nak:2000']);

    // Deliveries handed back while Redis was away cost no attempt, and wait longer each time.
    const later = fakeMessage(4);
    await processMessage(later.message, deps(store, controller));
    expect(later.settled).toEqual(['nak:16000']);
    store.down = false;
    const recovered = fakeMessage(5);
    await processMessage(recovered.message, deps(store, controller));
    expect(recovered.settled).toEqual(['ack']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.SUCCEEDED, attempts: 1 });
  });

  it('dead-letters a call whose runs never finished once the attempts are used', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => ({ result: create(InvocationResultSchema) }));
    for (let delivery = 1; delivery <= 3; delivery++) {
      // The worker "dies" mid-call: the record says running, nothing settles.
      await store.put(create(CallRecordSchema, { callId: 'call-1', functionName: 'echo', status: CallStatus.RUNNING, attempts: delivery }));
    }
    const { message, settled } = fakeMessage(4);
    await processMessage(message, deps(store, controller));
    expect(controller.calls).toBe(0);
    expect(settled).toEqual(['term']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.DEAD_LETTERED, errorCode: 'internal' });
  });

  it('records undecodable messages as bad requests and terminates them', async () => {
    const store = new FakeStore();
    const controller = invoker(async () => ({ result: create(InvocationResultSchema) }));
    const { message, settled } = fakeMessage(1, { 'Nats-Msg-Id': 'junk-1', 'Faas-Envelope': 'faas.v1.AsyncInvocation' });
    (message as { data: Uint8Array }).data = new Uint8Array([0xff, 0xff, 0xff]);
    await processMessage(message, deps(store, controller));
    expect(settled).toEqual(['term']);
    expect(controller.calls).toBe(0);
    expect(store.records.get('junk-1')).toMatchObject({ status: CallStatus.FAILED, errorCode: 'bad_request' });
  });
});

describe('trackMessage', () => {
  it('records queued once and never overwrites progress', async () => {
    const store = new FakeStore();
    const { message, settled } = fakeMessage();
    await trackMessage(message, store, logger);
    expect(settled).toEqual(['ack']);
    expect(store.records.get('call-1')).toMatchObject({ status: CallStatus.QUEUED, queuedAtMs: 1_000n, functionName: 'echo' });

    store.records.get('call-1')!.status = CallStatus.RUNNING;
    await trackMessage(fakeMessage().message, store, logger);
    expect(store.records.get('call-1')!.status).toBe(CallStatus.RUNNING);
  });

  it('naks when Redis is down', async () => {
    const store = new FakeStore();
    store.down = true;
    const { message, settled } = fakeMessage();
    await trackMessage(message, store, logger);
    expect(settled).toEqual(['nak:2000']);
  });
});
