// The hot path's streams under stress, between real processes: thousands of
// calls multiplexed on Funclet.Calls and Controller.Calls, some given up on
// and some past their deadline while they run; and a funclet killed while
// calls are in flight on its streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invoker, type Cancellation } from '@faas/client';
import { PlatformError } from '@faas/errors';
import { InvocationKind, create, InvocationSchema } from '@faas/protocol';
import { startPlatform, startService, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { http } from '../support/http.js';

// Echoes who it ran for, after the delay the event asks for.
const ECHO_AFTER = `
export const handler = async (event, context) => {
  await new Promise((resolve) => setTimeout(resolve, event.delayMs));
  return { callId: context.callId, nonce: event.nonce };
};
`;

let platform: Platform;
let invoker: Invoker;

async function deploy(name: string, config: Record<string, unknown>) {
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.mjs': ECHO_AFTER }) });
  const deployed = await http(`${platform.httpUrl}/v1/functions/${name}`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 256, timeoutSeconds: 10, ...config },
  });
  expect(deployed.status, deployed.text).toBeLessThan(300);
}

function invocation(functionName: string, callId: string, event: unknown) {
  return create(InvocationSchema, { functionName, callId, kind: InvocationKind.EVENT, payload: Buffer.from(JSON.stringify(event)), contentType: 'application/json' });
}

/** A cancellation the test pulls by hand. */
function cancellable(): Cancellation & { cancel(): void } {
  const listeners = new Set<() => void>();
  let cancelled = false;
  return {
    get cancelled() {
      return cancelled;
    },
    onCancel(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    cancel() {
      cancelled = true;
      for (const listener of listeners) listener();
    },
  };
}

const codeOf = (error: unknown) => (error instanceof PlatformError ? error.code : `not a platform error: ${String(error)}`);
const described = (error: unknown) => (error instanceof PlatformError ? `${error.code} (${error.message})` : String(error));

beforeAll(async () => {
  platform = await startPlatform();
  invoker = new Invoker({ controllerAddress: platform.addresses.controller, dataPath: 'direct' });
  await deploy('echo-after', { concurrencyPerSandbox: 250, maxConcurrency: 1000 });
  await deploy('slow', { concurrencyPerSandbox: 50, maxConcurrency: 50 });
});

afterAll(async () => {
  invoker?.close();
  await platform?.stop();
});

describe.each([
  { dataPath: 'direct' as const, CALLS: 3000 },
  { dataPath: 'controller' as const, CALLS: 1500 },
])('thousands of calls on the streams ($dataPath data path)', ({ dataPath, CALLS }) => {
  it('gives every caller its own answer, with some calls cancelled and some past their deadline, and leaks no slot', async () => {
    const invoker = new Invoker({ controllerAddress: platform.addresses.controller, dataPath });
    const IN_FLIGHT = 300;
    const tally = { ok: 0, cancelled: 0, pastDeadline: 0, wrong: [] as string[] };
    let next = 0;
    const one = async (i: number) => {
      const callId = `storm-${i}`;
      const nonce = Math.random().toString(36).slice(2);
      const kind = i % 10 === 3 ? 'cancel' : i % 10 === 7 ? 'deadline' : 'plain';
      // Calls given up on run for 600 ms: answered well before that, they were not kept waiting for their handler.
      const delayMs = kind === 'plain' ? i % 20 : 600;
      const cancellation = cancellable();
      if (kind === 'cancel') setTimeout(() => cancellation.cancel(), 40);
      const started = Date.now();
      try {
        const result = await invoker.invoke(invocation('echo-after', callId, { delayMs, nonce }), {
          cancellation,
          deadlineMs: kind === 'deadline' ? Date.now() + 40 : undefined,
        });
        const answer = JSON.parse(Buffer.from(result.result).toString());
        if (kind !== 'plain') tally.wrong.push(`${callId} (${kind}) ran to the end`);
        else if (answer.callId !== callId || answer.nonce !== nonce) tally.wrong.push(`${callId} got ${JSON.stringify(answer)}`);
        else tally.ok++;
      } catch (error) {
        const waited = Date.now() - started;
        if (kind === 'plain' || codeOf(error) !== 'deadline_exceeded') tally.wrong.push(`${callId} (${kind}) failed: ${described(error)}`);
        // Given up on: answered at once, not when the handler ends.
        else if (waited > 500) tally.wrong.push(`${callId} (${kind}) answered after ${waited} ms`);
        else if (kind === 'cancel') tally.cancelled++;
        else tally.pastDeadline++;
      }
    };
    const workers = Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < CALLS; i = next++) await one(i);
    });
    const stuck = new Promise((_, reject) => setTimeout(() => reject(new Error('calls still unanswered after 90 s')), 90_000));
    await Promise.race([Promise.all(workers), stuck]);
    console.log(`storm (${dataPath}): ${tally.ok} answered, ${tally.cancelled} cancelled, ${tally.pastDeadline} past their deadline, ${tally.wrong.length} wrong`);
    expect(tally.wrong).toEqual([]);
    expect(tally.ok + tally.cancelled + tally.pastDeadline).toBe(CALLS);

    // The calls given up on end on the wire when their handlers do; then nothing is left open.
    await expect.poll(() => invoker.callsInFlight, { timeout: 5_000 }).toBe(0);
    // Relayed calls given up on are answered by the controller at once, but hold their slot there until their handler ends (600 ms).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Every slot came back: as many calls as the function allows run at once, none refused or queued for long.
    const full = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => invoker.invoke(invocation('echo-after', `after-${i}`, { delayMs: 300, nonce: 'x' })).then(() => 'ok', codeOf)),
    );
    expect(full.filter((outcome) => outcome !== 'ok')).toEqual([]);
    invoker.close();
  }, 180_000);
});

describe('a funclet killed under calls', () => {
  it('fails each call in flight on its streams with a retriable error within a second', async () => {
    await invoker.invoke(invocation('slow', 'warm-up', { delayMs: 0, nonce: 'w' }));
    const calls = Array.from({ length: 40 }, (_, i) =>
      invoker.invoke(invocation('slow', `doomed-${i}`, { delayMs: 5_000, nonce: 'd' })).then(
        () => ({ code: 'succeeded', at: Date.now() }),
        (error: unknown) => ({ code: codeOf(error), at: Date.now() }),
      ),
    );
    // Also through the HTTP edge, which holds its own streams.
    const viaEdge = Array.from({ length: 10 }, (_, i) =>
      http(`${platform.httpUrl}/v1/functions/slow/invocations`, { method: 'POST', json: { delayMs: 5_000, nonce: `e${i}` } }).then((answer) => ({
        status: answer.status,
        code: answer.json?.code,
        at: Date.now(),
      })),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killedAt = Date.now();
    platform.services.funclet.process.child.kill('SIGKILL');
    const direct = await Promise.all(calls);
    const edge = await Promise.all(viaEdge);
    console.log(`kill -9 of the funclet: ${direct.length + edge.length} calls in flight, slowest answer ${Math.max(...[...direct, ...edge].map((c) => c.at - killedAt))} ms after the kill`);
    for (const outcome of direct) {
      expect(outcome.code).toBe('service_unavailable');
      expect(outcome.at - killedAt).toBeLessThan(1_000);
    }
    for (const outcome of edge) {
      expect(outcome).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(outcome.at - killedAt).toBeLessThan(1_000);
    }
    // Back again, it serves once more (its orphans cleaned at start).
    await platform.restartService('funclet');
    await expect.poll(
      () => invoker.invoke(invocation('slow', `after-restart-${Date.now()}`, { delayMs: 0, nonce: 'r' })).then(() => 'ok', codeOf),
      { timeout: 20_000, interval: 500 },
    ).toBe('ok');
  }, 60_000);
});

describe('the two data paths', () => {
  it('direct: warm calls go on while the controller is down; relayed: every call needs it', async () => {
    const relayedEdge = await startService('httptrigger', {
      // Not a test of auth: the edge's routes open, as FAAS_AUTH=off makes them.
      FAAS_AUTH: 'off',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      CONTROLLER_ADDRESS: platform.addresses.controller,
      STUBS_ADDRESS: platform.addresses.stubs,
      QUEUE_WORKER_ADDRESS: platform.addresses['queue-worker'],
      NATS_URL: platform.natsUrl,
      FAAS_DATA_PATH: 'controller',
    });
    const relayedUrl = `http://${relayedEdge.address}`;
    const call = (base: string) => http(`${base}/v1/functions/echo-after/invocations`, { method: 'POST', json: { delayMs: 0, nonce: 'p' } });
    try {
      // Warm through both edges: the direct one now holds a lease on the sandbox.
      expect((await call(platform.httpUrl)).status).toBe(200);
      expect((await call(relayedUrl)).status).toBe(200);

      platform.services.controller.process.child.kill('SIGKILL');
      await platform.services.controller.process.exited;
      // One at a time: the edge's lease is for the one slot its warm-up call used.
      for (let i = 0; i < 5; i++) expect((await call(platform.httpUrl)).status).toBe(200);
      const relayed = await call(relayedUrl);
      expect(relayed.status).toBe(503);
      expect(relayed.json).toMatchObject({ code: 'service_unavailable' });

      await platform.restartService('controller');
      await expect.poll(async () => (await call(relayedUrl)).status, { timeout: 20_000, interval: 500 }).toBe(200);
    } finally {
      await relayedEdge.process.stop();
    }
  }, 60_000);
});
