// The platform on clustered infrastructure: a three-server NATS cluster
// (JetStream streams at three replicas) and Redis with Sentinel (a master,
// two replicas, three sentinels), all real processes. Under a mixed load of
// sync and async calls, the JetStream leader of the invocation stream is
// killed (kill -9), then the Redis master: every async call the edge
// accepted (202) ends succeeded, every sync call that failed did so with a
// retriable code and an answer (none hung), and calls succeed again once the
// cluster has elected. Each phase prints its counts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { startClusterInfrastructure, startPlatform, type ClusterInfrastructure, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

const FUNCTION = `
export const handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { n: event.n };
};
`;
/** Longer than any call may take here: a call still unanswered then has hung. */
const HUNG_AFTER_MS = 10_000;
/** What a caller may retry: the platform or a service behind it is away for now. */
const RETRIABLE = new Set(['service_unavailable', 'bad_gateway', 'too_many_requests', 'deadline_exceeded', 'no_funclets']);
const INVOCATION_STREAM = 'FAAS_INVOCATIONS';

let workDir: string;
let infra: ClusterInfrastructure;
let platform: Platform;
let nc: NatsConnection;

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-failover-'));
  infra = await startClusterInfrastructure(workDir);
  platform = await startPlatform({
    // The services reach the sets through infra.env; these ports only say NATS and Redis run.
    natsPort: infra.nats.nodes[0]!.port,
    redisPort: infra.redis.servers[0]!.port,
    reuseInfrastructure: true,
    env: infra.env,
    serviceEnv: {
      funclet: { FUNCLET_POOL_SIZE: '1', FUNCLET_POOL_MEMORY_MB: '128' },
      // Calls a dead NATS server held come back soon.
      'queue-worker': { QUEUE_WORKER_ACK_WAIT_MS: '5000' },
    },
  });
  nc = await connect({ servers: infra.nats.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.mjs': FUNCTION }) });
  const deployed = await http(`${platform.httpUrl}/v1/functions/echo`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, maxConcurrency: 16, concurrencyPerSandbox: 8, async: { baseDelayMs: 200, maxDelayMs: 1_000, maxAttempts: 20 } },
  });
  expect(deployed.status, deployed.text).toBe(201);
  expect((await http(`${platform.httpUrl}/v1/functions/echo/invocations`, { method: 'POST', json: { n: 0 } })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await platform?.stop();
  await infra?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface Outcome {
  readonly kind: 'sync' | 'async';
  readonly startedAt: number;
  readonly endedAt: number;
  /** 'ok' (200 or 202), a platform error code, or 'hung' / a transport error. */
  readonly result: string;
  readonly callId?: string;
}

let calls = 0;
async function oneCall(kind: 'sync' | 'async', phase: string): Promise<Outcome> {
  const callId = `${phase}-${++calls}`;
  const startedAt = Date.now();
  try {
    const response = await fetch(`${platform.httpUrl}/v1/functions/echo/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-call-id': callId, ...(kind === 'async' ? { 'x-invocation-type': 'Event' } : {}) },
      body: JSON.stringify({ n: calls }),
      signal: AbortSignal.timeout(HUNG_AFTER_MS),
    });
    const body = (await response.json().catch(() => ({}))) as { code?: string };
    const ok = response.status === (kind === 'async' ? 202 : 200) && !response.headers.get('x-function-error');
    return { kind, startedAt, endedAt: Date.now(), result: ok ? 'ok' : (body.code ?? `http ${response.status}`), callId };
  } catch (error) {
    return { kind, startedAt, endedAt: Date.now(), result: (error as Error).name === 'TimeoutError' ? 'hung' : `transport: ${(error as Error).message}`, callId };
  }
}

/** `loops` sync and `loops` async callers, each one call at a time with a short pause: tens of calls a second. */
async function underLoad(phase: string, loops: number, ms: number, fault: () => Promise<void>): Promise<{ outcomes: Outcome[]; faultAt: number }> {
  const outcomes: Outcome[] = [];
  const until = Date.now() + ms;
  const loop = async (kind: 'sync' | 'async') => {
    while (Date.now() < until) {
      const outcome = await oneCall(kind, phase);
      outcomes.push(outcome);
      await new Promise((resolve) => setTimeout(resolve, outcome.result === 'ok' ? 40 : 100));
    }
  };
  let faultAt = 0;
  const striking = (async () => {
    await new Promise((resolve) => setTimeout(resolve, ms / 4));
    faultAt = Date.now();
    await fault();
  })();
  await Promise.all([...Array.from({ length: loops }, () => loop('sync')), ...Array.from({ length: loops }, () => loop('async')), striking]);
  return { outcomes, faultAt };
}

async function statusOf(callId: string): Promise<string | undefined> {
  const answer = await http(`${platform.httpUrl}/v1/calls/${callId}`).catch(() => undefined);
  return answer?.status === 200 ? (answer.json.status as string) : undefined;
}

/** Prints the phase's counts and checks what a user relies on. */
async function judge(phase: string, { outcomes, faultAt }: { outcomes: Outcome[]; faultAt: number }): Promise<void> {
  const count = (kind: string, predicate: (outcome: Outcome) => boolean) => outcomes.filter((outcome) => outcome.kind === kind && predicate(outcome)).length;
  const failures = outcomes.filter((outcome) => outcome.result !== 'ok');
  const byCode: Record<string, number> = {};
  for (const failure of failures) byCode[`${failure.kind} ${failure.result}`] = (byCode[`${failure.kind} ${failure.result}`] ?? 0) + 1;
  const lastFailureAt = Math.max(faultAt, ...failures.map((failure) => failure.endedAt));
  const slowestFailureMs = Math.max(0, ...failures.map((failure) => failure.endedAt - failure.startedAt));

  const accepted = outcomes.filter((outcome) => outcome.kind === 'async' && outcome.result === 'ok').map((outcome) => outcome.callId!);
  const finished = await eventually(
    async () => {
      const statuses = await Promise.all(accepted.map(statusOf));
      return statuses.every((status) => status === 'succeeded' || status === 'failed' || status === 'dead-lettered') ? statuses : undefined;
    },
    60_000,
    `every accepted async call of ${phase} to finish`,
  ).catch(async () => Promise.all(accepted.map(statusOf)));
  const asyncByStatus: Record<string, number> = {};
  for (const status of finished) asyncByStatus[status ?? 'missing'] = (asyncByStatus[status ?? 'missing'] ?? 0) + 1;

  console.log(
    `${phase}: sync ${count('sync', () => true)} calls, ${count('sync', (o) => o.result === 'ok')} ok; ` +
      `async ${count('async', () => true)} sent, ${accepted.length} accepted, outcomes ${JSON.stringify(asyncByStatus)}; ` +
      `failures ${JSON.stringify(byCode)}; slowest failure ${slowestFailureMs} ms; last failure ${lastFailureAt - faultAt} ms after the fault`,
  );

  expect(asyncByStatus, 'every accepted async call succeeded').toEqual({ succeeded: accepted.length });
  expect(failures.filter((failure) => !RETRIABLE.has(failure.result)).map((failure) => `${failure.kind} ${failure.result}`), 'every failure is retriable and answered').toEqual([]);
  // Recovered: after the last failure, both kinds succeed again.
  for (const kind of ['sync', 'async']) expect(count(kind, (o) => o.result === 'ok' && o.startedAt > lastFailureAt), `${kind} calls succeed after the election`).toBeGreaterThan(0);
}

describe('clustered NATS and Redis', () => {
  it('keeps every accepted async call, and fails sync calls fast with retriable codes, when the JetStream leader is killed', { timeout: 120_000 }, async () => {
    const jsm = await jetstreamManager(nc);
    const before = await jsm.streams.info(INVOCATION_STREAM);
    expect(before.config.num_replicas).toBe(3);
    const leader = before.cluster!.leader!;
    const load = await underLoad('nats', 2, 12_000, () => infra.nats.node(leader).kill());
    const after = await eventually(async () => {
      const info = await jsm.streams.info(INVOCATION_STREAM).catch(() => undefined);
      return info?.cluster?.leader && info.cluster.leader !== leader ? info : undefined;
    }, 20_000, 'a new stream leader');
    console.log(`nats: stream leader ${leader} killed, ${after.cluster!.leader} elected`);
    await judge('nats', load);
    await infra.nats.node(leader).start();
  });

  it('keeps every accepted async call, and fails sync calls fast with retriable codes, when the Redis master is killed', { timeout: 120_000 }, async () => {
    const sentinel = new Redis(Number(infra.redis.sentinels[0]!.split(':')[1]), '127.0.0.1');
    const masterPort = async () => Number(((await sentinel.call('SENTINEL', 'get-master-addr-by-name', infra.redis.masterName)) as [string, string])[1]);
    try {
      const oldMaster = await masterPort();
      const load = await underLoad('redis', 2, 12_000, () => infra.redis.server(oldMaster).kill());
      const newMaster = await eventually(async () => {
        const port = await masterPort();
        return port !== oldMaster ? port : undefined;
      }, 20_000, 'a new Redis master');
      console.log(`redis: master on port ${oldMaster} killed, ${newMaster} promoted`);
      await judge('redis', load);
      await infra.redis.server(oldMaster).start();
    } finally {
      sentinel.disconnect();
    }
  });
});
