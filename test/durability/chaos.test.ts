// Chaos under mixed load: while sync and async calls keep coming, each
// service in turn is killed with kill -9 (and brought back by the
// platform's supervision, as `npm run up` does), then Redis and NATS are
// killed and started again on their ports and data. For each fault the
// sync calls are counted: succeeded, failed fast (an answer with a platform
// error code, or a refused connection while the edge itself is down) and
// hung (no answer within the hang limit) — hung must be zero. No accepted
// async call may be lost: every one succeeds in the end, and the platform
// serves calls again after each fault.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, startPlatform, startRedis, type ManagedProcess, type Platform, type ServiceName } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

/** Far above any call's run (the function answers at once): an answer this late is a hang, not a slow call. */
const HANG_LIMIT_MS = 30_000;
const SYNC_WORKERS = 3;

let platform: Platform;
const replacements: ManagedProcess[] = [];
const accepted: string[] = [];
type Tally = { succeeded: number; failedFast: number; hung: number; codes: Record<string, number> };
const report: Record<string, Tally> = {};

type Outcome = 'succeeded' | 'failedFast' | 'hung';

async function syncCall(): Promise<{ outcome: Outcome; code: string }> {
  try {
    const answer = await http(`${platform.httpUrl}/v1/functions/chaos/invocations`, { method: 'POST', json: { n: 1 }, signal: AbortSignal.timeout(HANG_LIMIT_MS) });
    if (answer.status === 200) return { outcome: 'succeeded', code: 'ok' };
    return { outcome: 'failedFast', code: String(answer.json?.code ?? answer.status) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    if ((error as Error).name === 'TimeoutError') return { outcome: 'hung', code: 'hung' };
    return { outcome: 'failedFast', code: cause };
  }
}

let asyncSeq = 0;
async function asyncCall(fault: string): Promise<void> {
  const callId = `chaos-${fault.replace(/\W+/g, '-')}-${asyncSeq++}`;
  try {
    const answer = await http(`${platform.httpUrl}/v1/functions/chaos/invocations`, { method: 'POST', headers: { 'x-invocation-type': 'Event', 'x-call-id': callId }, json: { n: 2 }, signal: AbortSignal.timeout(HANG_LIMIT_MS) });
    if (answer.status === 202) accepted.push(callId);
  } catch {
    // Not accepted: nothing was promised.
  }
}

/** Keeps the load on while `fault` runs, and for a moment after the piece is back; counts the sync outcomes. */
async function underLoad(fault: string, inject: () => Promise<void>): Promise<void> {
  const tally: Tally = (report[fault] = { succeeded: 0, failedFast: 0, hung: 0, codes: {} });
  let running = true;
  const syncLoop = async () => {
    while (running) {
      const { outcome, code } = await syncCall();
      tally[outcome]++;
      tally.codes[code] = (tally.codes[code] ?? 0) + 1;
      // A refused connection answers in microseconds: do not spin on it.
      if (outcome !== 'succeeded') await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const asyncLoop = async () => {
    while (running) {
      await asyncCall(fault);
      // A steady trickle the machine can run while it also serves the sync load.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const loops = [...Array.from({ length: SYNC_WORKERS }, syncLoop), asyncLoop()];
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await inject();
    await wholeAgain(fault);
  } finally {
    running = false;
    await Promise.all(loops);
  }
}

/** Calls succeed again, five in a row (the piece is back and the others found it). */
async function wholeAgain(fault: string): Promise<void> {
  let inARow = 0;
  await eventually(async () => {
    inARow = (await syncCall()).outcome === 'succeeded' ? inARow + 1 : 0;
    return inARow >= 5 ? true : undefined;
  }, 60_000, `calls to succeed again after ${fault}`);
}

/** kill -9 of a service's first replica; supervision starts it again. */
async function killService(name: ServiceName): Promise<void> {
  const before = platform.services[name];
  await before.process.stop('SIGKILL');
  await eventually(async () => (platform.services[name] !== before && platform.services[name].process.running ? true : undefined), 60_000, `${name} to be restarted`);
}

const portOf = (url: string) => Number(new URL(url).port);

beforeAll(async () => {
  platform = await startPlatform({ supervise: true, env: { FUNCLET_POOL_SIZE: '1' } });
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': 'exports.handler = async (event) => ({ got: event });\n' }) });
  const put = await http(`${platform.httpUrl}/v1/functions/chaos`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128, maxConcurrency: 8 } });
  expect(put.status, put.text).toBe(201);
  expect((await syncCall()).outcome).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  process.stdout.write(`chaos: ${JSON.stringify(report)}; ${accepted.length} async calls accepted\n`);
  await platform?.stop();
  for (const process of replacements) await process.stop();
});

describe('chaos under mixed load', () => {
  for (const name of ['stubs', 'controller', 'funclet', 'queue-worker', 'httptrigger'] as const) {
    it(`kill -9 of ${name}: no call hangs, and the platform serves again`, async () => {
      await underLoad(`kill ${name}`, () => killService(name));
      expect(report[`kill ${name}`]!.hung).toBe(0);
      expect(report[`kill ${name}`]!.succeeded).toBeGreaterThan(0);
    }, 120_000);
  }

  it('a restart of Redis: no call hangs, and the platform serves again', async () => {
    await underLoad('restart redis', async () => {
      await platform.redis!.stop('SIGKILL');
      replacements.push(await startRedis(portOf(platform.redisUrl), path.join(platform.workDir, 'redis'), undefined, { durable: true }));
    });
    expect(report['restart redis']!.hung).toBe(0);
  }, 120_000);

  it('a restart of NATS: no call hangs, and the platform serves again', async () => {
    await underLoad('restart nats', async () => {
      await platform.nats!.stop('SIGKILL');
      replacements.push(await startNats(portOf(platform.natsUrl), path.join(platform.workDir, 'nats')));
    });
    expect(report['restart nats']!.hung).toBe(0);
  }, 120_000);

  it('loses no accepted async call: every one succeeds in the end', async () => {
    expect(accepted.length).toBeGreaterThan(0);
    const unfinished = new Set(accepted);
    const statuses: Record<string, string> = {};
    const outcome = await eventually(
      async () => {
        for (const callId of [...unfinished]) {
          const answer = await http(`${platform.httpUrl}/v1/calls/${callId}`);
          statuses[callId] = String(answer.json?.status ?? answer.json?.code ?? answer.status);
          if (statuses[callId] === 'succeeded') unfinished.delete(callId);
        }
        return unfinished.size === 0 ? true : undefined;
      },
      120_000,
      'every accepted call to succeed',
    ).catch((error: Error) => error);
    const left = [...unfinished].map((callId) => `${callId}: ${statuses[callId]}`);
    expect(outcome === true ? [] : left.slice(0, 20), `${left.length} of ${accepted.length} not succeeded`).toEqual([]);
  }, 150_000);
});
