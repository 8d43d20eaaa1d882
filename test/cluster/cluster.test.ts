// Several hosts on one machine: three funclets, each in a network namespace
// this test makes (its own loopback and address, reaching the shared
// services over a bridge as it would over a LAN), and two controller
// replicas. Limits held across controllers, counted inside the function;
// kill -9 of a funclet and of a controller under load, with the calls that
// succeeded, failed fast and hung; and a funclet that comes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invoker } from '@faas/client';
import { PlatformError } from '@faas/errors';
import { InvocationKind, InvocationSchema, create, type InvocationResult } from '@faas/protocol';
import { canMakeHostNetwork, startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { http } from '../support/http.js';

// Says when it ran, by the host's clock (the sandboxes share it), so overlaps can be counted.
const TIMED = `
export const handler = async (event) => {
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  return { start, end: Date.now() };
};
`;

const LIMIT = 6;
/** Longer than any call may take here: a call still unanswered then has hung. */
const HUNG_AFTER_MS = 15_000;
/** How soon a call failed by a lost funclet or controller must hear of it. */
const FAST_MS = 2_000;

let platform: Platform;

async function deploy(name: string, config: Record<string, unknown>) {
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.mjs': TIMED }) });
  const deployed = await http(`${platform.httpUrl}/v1/functions/${name}`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128, timeoutSeconds: 10, ...config },
  });
  expect(deployed.status, deployed.text).toBeLessThan(300);
}

let calls = 0;
function call(invoker: Invoker, functionName: string, ms: number): Promise<InvocationResult> {
  const invocation = create(InvocationSchema, {
    functionName,
    callId: `cluster-${++calls}`,
    kind: InvocationKind.EVENT,
    payload: Buffer.from(JSON.stringify({ ms })),
    contentType: 'application/json',
  });
  return invoker.invoke(invocation, { deadlineMs: Date.now() + HUNG_AFTER_MS });
}

const funcletOf = (result: InvocationResult) => result.sandboxId.replace(/^faas-/, '').replace(/-\d+$/, '');
const timesOf = (result: InvocationResult) => JSON.parse(Buffer.from(result.result).toString('utf8')) as { start: number; end: number };

/** The most intervals that overlap at any moment. */
function mostAtOnce(intervals: ReadonlyArray<{ start: number; end: number }>): number {
  const events = intervals.flatMap(({ start, end }) => [
    { at: start, delta: 1 },
    { at: end, delta: -1 },
  ]);
  // An end and a start at the same millisecond do not overlap.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let most = 0;
  for (const { delta } of events) most = Math.max(most, (now += delta));
  return most;
}

interface Tally {
  succeeded: number;
  /** Failures answered within FAST_MS of the later of their start and the fault. */
  failedFast: number;
  failedSlow: string[];
  hung: number;
  codes: Record<string, number>;
}

/**
 * Calls in `loops` parallel loops for `ms`, each classified by how it
 * ended; `fault` runs meanwhile and resolves when it struck.
 */
async function underLoad(invoker: Invoker, functionName: string, loops: number, ms: number, fault: () => Promise<void>): Promise<Tally> {
  const tally: Tally = { succeeded: 0, failedFast: 0, failedSlow: [], hung: 0, codes: {} };
  const began = Date.now();
  const until = began + ms;
  let faultAt = Infinity;
  const loop = async () => {
    while (Date.now() < until) {
      const started = Date.now();
      try {
        await call(invoker, functionName, 20);
        tally.succeeded++;
      } catch (error) {
        const code = error instanceof PlatformError ? error.code : String(error);
        const ended = Date.now();
        tally.codes[code] = (tally.codes[code] ?? 0) + 1;
        // A call in flight when the fault struck had to hear of it within FAST_MS of the fault.
        const waited = ended - (ended >= faultAt ? Math.max(started, faultAt) : started);
        if (code === 'deadline_exceeded' && ended - started >= HUNG_AFTER_MS - 100) tally.hung++;
        else if (waited <= FAST_MS) tally.failedFast++;
        else tally.failedSlow.push(`${code} ${waited} ms after the fault (started ${started - began} ms into the load): ${error instanceof Error ? error.message.slice(0, 160) : ''}`);
        // A caller backs off a little before trying again.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const striking = fault().then(() => (faultAt = Date.now()));
  await Promise.all([...Array.from({ length: loops }, loop), striking]);
  return tally;
}

describe.skipIf(!canMakeHostNetwork())('three funclets on three "hosts", two controllers', () => {
  beforeAll(async () => {
    platform = await startPlatform({
      funclets: 3,
      controllers: 2,
      funcletNamespaces: true,
      // Small pools: three funclets boot theirs on two cores.
      serviceEnv: { funclet: { FUNCLET_POOL_SIZE: '1', FUNCLET_POOL_MEMORY_MB: '128', FUNCLET_MEMORY_MB: '3072' } },
    });
    await deploy('limited', { maxConcurrency: LIMIT });
    await deploy('work', { maxConcurrency: 100 });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('runs each funclet in its own namespace, reached at its own address', () => {
    const addresses = platform.replicas('funclet').map((funclet) => funclet.address);
    expect(new Set(addresses.map((address) => address.split(':')[0])).size).toBe(3);
    for (const address of addresses) expect(address).toMatch(/^10\.213\.\d+\.\d+:\d+$/);
    expect(platform.funclets.map((funclet) => funclet.namespace?.namespace)).toEqual(expect.arrayContaining([expect.stringMatching(/^faas-/)]));
  });

  it('never runs more calls of a function than max_concurrency, though two controllers place them', async () => {
    const [first, second] = platform.controllerAddresses;
    const invokers = [new Invoker({ controllerAddress: first!, dataPath: 'direct' }), new Invoker({ controllerAddress: second!, dataPath: 'direct' })];
    try {
      // 30 callers per controller, five calls each: five times the limit waits its turn at any moment.
      const results = await Promise.all(
        invokers.flatMap((invoker) =>
          Array.from({ length: 15 }, async () => {
            const mine: InvocationResult[] = [];
            for (let i = 0; i < 10; i++) mine.push(await call(invoker, 'limited', 40));
            return mine;
          }),
        ),
      );
      const flat = results.flat();
      const most = mostAtOnce(flat.map(timesOf));
      const funclets = new Set(flat.map(funcletOf));
      console.log(`limit ${LIMIT} across two controllers: ${flat.length} calls, at most ${most} at once (counted inside the function), on ${funclets.size} funclets`);
      expect(flat).toHaveLength(300);
      expect(most).toBeLessThanOrEqual(LIMIT);
      // The limit was reached, not merely respected by a trickle.
      expect(most).toBe(LIMIT);
    } finally {
      for (const invoker of invokers) invoker.close();
    }
  }, 120_000);

  it('keeps serving while a funclet is killed with -9, failing only the calls on it, fast; and uses it again once it is back', async () => {
    const invoker = new Invoker({ controllerAddress: [...platform.controllerAddresses], dataPath: 'direct' });
    try {
      const victim = platform.funclets[1]!;
      const tally = await underLoad(invoker, 'work', 12, 6_000, async () => {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        platform.replicas('funclet')[1]!.process.child.kill('SIGKILL');
      });
      console.log(`kill -9 of funclet ${victim.id}: ${tally.succeeded} succeeded, ${tally.failedFast} failed fast, ${tally.failedSlow.length} failed slowly, ${tally.hung} hung`, tally.codes);
      expect(tally.hung).toBe(0);
      expect(tally.failedSlow).toEqual([]);
      expect(Object.keys(tally.codes).filter((code) => code !== 'service_unavailable')).toEqual([]);
      expect(tally.succeeded).toBeGreaterThan(100);

      // Back again: a new function's sandboxes go to the funclet with the most room, the empty one.
      await platform.restartService('funclet', 'SIGKILL', 1);
      await deploy('after-return', { maxConcurrency: 20 });
      await expect
        .poll(
          async () => {
            const results = await Promise.all(Array.from({ length: 6 }, () => call(invoker, 'after-return', 300)));
            return results.some((result) => funcletOf(result) === victim.id);
          },
          // A funclet killed with -9 first cleans what it left, then boots its pool: slow on a loaded machine.
          { timeout: 60_000, interval: 500 },
        )
        .toBe(true);
    } finally {
      invoker.close();
    }
  }, 120_000);

  it('keeps serving while a controller is killed with -9, and takes it back once restarted', async () => {
    const invoker = new Invoker({ controllerAddress: [...platform.controllerAddresses], dataPath: 'direct' });
    try {
      const tally = await underLoad(invoker, 'work', 12, 6_000, async () => {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        platform.replicas('controller')[0]!.process.child.kill('SIGKILL');
      });
      console.log(`kill -9 of a controller: ${tally.succeeded} succeeded, ${tally.failedFast} failed fast, ${tally.failedSlow.length} failed slowly, ${tally.hung} hung`, tally.codes);
      expect(tally.hung).toBe(0);
      expect(tally.failedSlow).toEqual([]);
      expect(Object.keys(tally.codes).filter((code) => code !== 'service_unavailable')).toEqual([]);
      expect(tally.succeeded).toBeGreaterThan(100);

      await platform.restartService('controller', 'SIGKILL', 0);
      // The restarted controller places calls again (through an edge that knows only it).
      const only = new Invoker({ controllerAddress: platform.controllerAddresses[0]!, dataPath: 'controller' });
      try {
        await expect.poll(() => call(only, 'work', 0).then(() => 'ok', (error: PlatformError) => error.code), { timeout: 20_000, interval: 500 }).toBe('ok');
      } finally {
        only.close();
      }
    } finally {
      invoker.close();
    }
  }, 120_000);
});
