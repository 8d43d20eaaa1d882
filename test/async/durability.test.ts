// Nothing accepted is lost, on the whole engine: real runc sandboxes, two
// queue-workers, real NATS JetStream and Redis. The function's own side
// effect is kept outside its sandbox: it writes one line per run, which the
// funclet publishes to the log stream, so every run of every call id can be
// counted there.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { CallRecordSchema, CallStatus, fromJson, type CallRecord } from '@faas/protocol';
import { startNats, startPlatform, startService, type ManagedProcess, type Platform, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { http } from '../support/http.js';

const FUNCTION = `
export const handler = async (event, context) => {
  console.log('ran ' + context.callId);
  // Long enough that the worker killed mid-load holds calls it has started.
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { n: event.n };
};
`;
/** Short enough that calls a killed worker held come back within the test. */
const ACK_WAIT_MS = '3000';

let platform: Platform;
let secondWorker: RunningService;
let restartedNats: ManagedProcess | undefined;
let redis: Redis;
let prefix: string;
/** 503s the edge answered (NATS away) before a call was accepted. */
let refusedPublishes = 0;

beforeAll(async () => {
  platform = await startPlatform({ serviceEnv: { 'queue-worker': { QUEUE_WORKER_ACK_WAIT_MS: ACK_WAIT_MS, QUEUE_WORKER_CONCURRENCY: '16' } } });
  prefix = `faas-${platform.instanceId}:`;
  secondWorker = await startService('queue-worker', {
    QUEUE_WORKER_LISTEN: '127.0.0.1:0',
    NATS_URL: platform.natsUrl,
    REDIS_URL: platform.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    CONTROLLER_ADDRESS: platform.addresses.controller,
    STUBS_ADDRESS: platform.addresses.stubs,
    QUEUE_WORKER_ACK_WAIT_MS: ACK_WAIT_MS,
    QUEUE_WORKER_CONCURRENCY: '16',
  });
  redis = new Redis(platform.redisUrl);
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.mjs': FUNCTION }) });
  const deploy = await http(`${platform.httpUrl}/v1/functions/counter`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, maxConcurrency: 32, concurrencyPerSandbox: 16, async: { baseDelayMs: 200, maxDelayMs: 2_000 } },
  });
  expect(deploy.status).toBe(201);
  // A warm sandbox before the load starts.
  expect((await http(`${platform.httpUrl}/v1/functions/counter/invocations`, { method: 'POST', json: { n: -1 } })).status).toBe(200);
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await secondWorker?.process.stop();
  await platform?.stop();
  await restartedNats?.stop();
});

/** Queues call `callId`, sending it again (same id) while the edge answers 503: a client that keeps its promise. */
async function queueUntilAccepted(callId: string, n: number): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const answer = await http(`${platform.httpUrl}/v1/functions/counter/invocations`, {
      method: 'POST',
      json: { n },
      headers: { 'x-invocation-type': 'Event', 'x-call-id': callId },
    }).catch(() => undefined);
    if (answer?.status === 202) return;
    if (answer && answer.status !== 503) throw new Error(`queueing ${callId}: ${answer.status} ${answer.text}`);
    refusedPublishes++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${callId} was never accepted`);
}

async function queueAll(callIds: string[], inFlight: number, onAccepted?: (accepted: number) => Promise<void> | void): Promise<void> {
  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < callIds.length) {
        const index = next++;
        await queueUntilAccepted(callIds[index]!, index);
        accepted++;
        await onAccepted?.(accepted);
      }
    }),
  );
}

async function records(callIds: string[]): Promise<(CallRecord | undefined)[]> {
  const raws = await redis.mget(callIds.map((id) => `${prefix}calls:${id}`));
  return raws.map((raw) => (raw ? fromJson(CallRecordSchema, JSON.parse(raw), { ignoreUnknownFields: true }) : undefined));
}

async function untilAllSucceeded(callIds: string[], timeoutMs: number): Promise<CallRecord[]> {
  const deadline = Date.now() + timeoutMs;
  let last: (CallRecord | undefined)[] = [];
  while (Date.now() < deadline) {
    last = await records(callIds);
    if (last.every((record) => record?.status === CallStatus.SUCCEEDED)) return last as CallRecord[];
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const byStatus: Record<string, number> = {};
  for (const record of last) byStatus[record ? CallStatus[record.status] : 'MISSING'] = (byStatus[record ? CallStatus[record.status] : 'MISSING'] ?? 0) + 1;
  throw new Error(`not every call succeeded: ${JSON.stringify(byStatus)}`);
}

/** Runs per call id, from the function's own log lines. */
async function runsFromLogs(nc: NatsConnection, prefixOfIds: string): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('FAAS_LOGS', { subjects_filter: 'faas.logs.counter' });
  const stored = info.state.subjects?.['faas.logs.counter'] ?? 0;
  const runs = new Map<string, number>();
  const consumer = await jetstream(nc).consumers.get('FAAS_LOGS', { filter_subjects: 'faas.logs.counter', deliver_policy: DeliverPolicy.All });
  const messages = await consumer.fetch({ max_messages: stored, expires: 10_000 });
  for await (const message of messages) {
    const line = JSON.parse(message.string()) as { line: string };
    const match = /^ran (\S+)$/.exec(line.line.trim());
    if (match && match[1]!.startsWith(prefixOfIds)) runs.set(match[1]!, (runs.get(match[1]!) ?? 0) + 1);
    if (message.info.pending === 0) break;
  }
  return runs;
}

describe('durability', () => {
  it('runs 1,000 calls while one of two queue-workers is killed with kill -9 and restarted: every call succeeds, each ran once or its duplicate is explained', { timeout: 300_000 }, async () => {
    const callIds = Array.from({ length: 1_000 }, (_, i) => `kill-${i}`);
    let killed = false;
    await queueAll(callIds, 32, async (accepted) => {
      if (killed || accepted < 300) return;
      killed = true;
      // SIGKILL: no shutdown, calls in its hands are neither finished nor handed back.
      await platform.restartService('queue-worker', 'SIGKILL');
    });
    expect(killed).toBe(true);
    const done = await untilAllSucceeded(callIds, 240_000);

    const nc = await connect({ servers: platform.natsUrl });
    try {
      const runs = await eventuallyCounted(nc, 'kill-', callIds.length);
      const neverRan = callIds.filter((id) => !runs.has(id));
      const duplicates = callIds.filter((id) => (runs.get(id) ?? 0) > 1);
      const rerun = done.filter((record) => record.attempts > 1).length;
      console.log(`kill -9: ${done.length} succeeded, ${rerun} needed a second attempt, ${duplicates.length} ran twice (${duplicates.join(', ') || 'none'})`);
      expect(neverRan).toEqual([]);
      // A duplicate is a call the killed worker was running: its first run
      // counted an attempt that never stored an outcome, so the record
      // shows a second attempt. At most the killed worker's concurrency.
      const attemptsOf = new Map(done.map((record) => [record.callId, record.attempts]));
      for (const id of duplicates) expect(attemptsOf.get(id), `${id} ran twice`).toBeGreaterThanOrEqual(2);
      expect(duplicates.length).toBeLessThanOrEqual(16);
    } finally {
      await nc.close();
    }
  });

  it('loses nothing accepted when nats-server restarts mid-load', { timeout: 300_000 }, async () => {
    const callIds = Array.from({ length: 600 }, (_, i) => `restart-${i}`);
    const natsPort = Number(new URL(platform.natsUrl).port);
    let restarted = false;
    await queueAll(callIds, 32, async (accepted) => {
      if (restarted || accepted < 200) return;
      restarted = true;
      await platform.nats!.stop();
      // Same port and store: JetStream comes back with what it had accepted.
      restartedNats = await startNats(natsPort, path.join(platform.workDir, 'nats'));
    });
    expect(restarted).toBe(true);
    const done = await untilAllSucceeded(callIds, 240_000);
    expect(done).toHaveLength(600);
    console.log(`nats-server restart: ${done.length} of ${callIds.length} succeeded; ${refusedPublishes} publishes answered 503 while NATS was away and were sent again`);
  });
});

/** The log stream gets each line shortly after its call: wait until every call id shows up (or give what there is). */
async function eventuallyCounted(nc: NatsConnection, prefixOfIds: string, expected: number): Promise<Map<string, number>> {
  let runs = new Map<string, number>();
  for (let round = 0; round < 40; round++) {
    runs = await runsFromLogs(nc, prefixOfIds);
    if (runs.size >= expected) return runs;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return runs;
}
