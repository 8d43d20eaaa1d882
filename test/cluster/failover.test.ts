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
import { RETRIABLE_CODES, summarise, underMixedLoad } from '../support/mixed-load.js';

const FUNCTION = `
export const handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { n: event.n };
};
`;
/** Longer than any call may take here: a call still unanswered then has hung. */
const HUNG_AFTER_MS = 10_000;
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

/** Runs the load with `fault` a quarter of the way in, then prints the phase's counts and checks what a user relies on. */
async function underFault(phase: string, fault: () => Promise<void>, afterFault: () => Promise<void>): Promise<void> {
  const load = await underMixedLoad({
    edges: [platform.httpUrl],
    functionName: 'echo',
    syncLoops: 2,
    asyncLoops: 2,
    durationMs: 12_000,
    faultAfterMs: 3_000,
    fault,
    hungAfterMs: HUNG_AFTER_MS,
    callIdPrefix: phase,
  });
  await afterFault();
  const summary = summarise(load);
  const { byStatus, notSucceeded } = await summary.asyncEnds(platform.httpUrl, 60_000);
  console.log(
    `${phase}: sync ${summary.count('sync')} calls, ${summary.count('sync', 'ok')} ok; ` +
      `async ${summary.count('async')} sent, ${summary.count('async', 'ok')} accepted, outcomes ${JSON.stringify(byStatus)}; ` +
      `failures ${JSON.stringify(summary.failuresByResult)}; slowest failure ${summary.slowestFailureMs} ms; last failure ${summary.lastFailureAt - load.faultAt} ms after the fault`,
  );
  for (const { callId, record } of notSucceeded) console.log(`${phase}: async ${callId} ended`, JSON.stringify(record)?.slice(0, 600));
  expect(notSucceeded, 'every accepted async call succeeded').toEqual([]);
  expect(summary.failures.filter((failure) => !RETRIABLE_CODES.has(failure.result)).map((failure) => `${failure.kind} ${failure.result}`), 'every failure is retriable and answered').toEqual([]);
  // Recovered: after the last failure, both kinds succeed again.
  for (const kind of ['sync', 'async'] as const) expect(summary.okAfterLastFailure(kind), `${kind} calls succeed after the election`).toBeGreaterThan(0);
}

describe('clustered NATS and Redis', () => {
  it('keeps every accepted async call, and fails sync calls fast with retriable codes, when the JetStream leader is killed', { timeout: 120_000 }, async () => {
    const jsm = await jetstreamManager(nc);
    const before = await jsm.streams.info(INVOCATION_STREAM);
    expect(before.config.num_replicas).toBe(3);
    const leader = before.cluster!.leader!;
    await underFault(
      'nats',
      () => infra.nats.node(leader).kill(),
      async () => {
        const after = await eventually(async () => {
          const info = await jsm.streams.info(INVOCATION_STREAM).catch(() => undefined);
          return info?.cluster?.leader && info.cluster.leader !== leader ? info : undefined;
        }, 20_000, 'a new stream leader');
        console.log(`nats: stream leader ${leader} killed, ${after.cluster!.leader} elected`);
      },
    );
    await infra.nats.node(leader).start();
  });

  it('keeps every accepted async call, and fails sync calls fast with retriable codes, when the Redis master is killed', { timeout: 120_000 }, async () => {
    const sentinel = new Redis(Number(infra.redis.sentinels[0]!.split(':')[1]), '127.0.0.1');
    const masterPort = async () => Number(((await sentinel.call('SENTINEL', 'get-master-addr-by-name', infra.redis.masterName)) as [string, string])[1]);
    try {
      const oldMaster = await masterPort();
      await underFault(
        'redis',
        () => infra.redis.server(oldMaster).kill(),
        async () => {
          const newMaster = await eventually(async () => {
            const port = await masterPort();
            return port !== oldMaster ? port : undefined;
          }, 20_000, 'a new Redis master');
          console.log(`redis: master on port ${oldMaster} killed, ${newMaster} promoted`);
        },
      );
      await infra.redis.server(oldMaster).start();
    } finally {
      sentinel.disconnect();
    }
  });
});
