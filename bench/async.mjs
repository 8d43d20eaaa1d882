// `npm run bench:async`: asynchronous calls end to end (HTTP 202 accepted →
// outcome stored in Redis) for a no-op function on the whole platform (real
// runc sandboxes), beside a raw JetStream loop in the same run: publishes of
// the same message size (32 in flight, file storage) consumed and acked by
// one pull consumer. Prints both rates, their ratio, and accepted → started
// latencies under load and with the queue idle (one call at a time).
//   node bench/async.mjs [--calls 2000] [--connections 32] [--idle-calls 200]
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { AsyncInvocationSchema, CallRecordSchema, CallStatus, InvocationKind, create, fromJson, toBinary } from '@faas/protocol';
import { startPlatform } from '@faas/launcher';
import { closeClient, deployFunction, fmt, handlerBundle, send, summarise, uploadCode, verdict, verdictAtLeast } from './support.mjs';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '32' },
    'idle-calls': { type: 'string', default: '200' },
  },
});
const CALLS = Number(values.calls);
const CONNECTIONS = Number(values.connections);
const IDLE_CALLS = Number(values['idle-calls']);
const PAYLOAD = JSON.stringify({ bench: 'async', pad: 'x'.repeat(32) });

/** Runs `count` tasks with at most `inFlight` at once. */
async function pool(count, inFlight, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Raw JetStream: publish `count` messages of `size` bytes with 32 in flight, one pull consumer acking each; messages/s from first publish to last ack. */
async function rawJetStream(natsUrl, count, size) {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw'], storage: StorageType.File, retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add('BENCH_RAW', { durable_name: 'bench', ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
  const js = jetstream(nc);
  const body = new Uint8Array(size).fill(120);
  const consumer = await js.consumers.get('BENCH_RAW', 'bench');
  const started = performance.now();
  let acked = 0;
  const consumed = (async () => {
    const messages = await consumer.consume({ max_messages: 256 });
    for await (const message of messages) {
      message.ack();
      if (++acked === count) break;
    }
    await messages.close();
  })();
  await pool(count, 32, async (index) => void (await js.publish('bench.raw', body, { msgID: `raw-${index}` })));
  await consumed;
  const seconds = (performance.now() - started) / 1_000;
  await jsm.streams.delete('BENCH_RAW');
  await nc.close();
  return count / seconds;
}

async function records(redis, prefix, callIds) {
  const raws = await redis.mget(callIds.map((id) => `${prefix}calls:${id}`));
  return raws.map((raw) => (raw ? fromJson(CallRecordSchema, JSON.parse(raw), { ignoreUnknownFields: true }) : undefined));
}

async function untilDone(redis, prefix, callIds, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let done = [];
  while (Date.now() < deadline) {
    done = await records(redis, prefix, callIds);
    if (done.every((record) => record && record.status === CallStatus.SUCCEEDED)) return done;
    await sleep(100);
  }
  const missing = done.filter((record) => !record || record.status !== CallStatus.SUCCEEDED).length;
  throw new Error(`${missing} of ${callIds.length} calls did not succeed in time`);
}

const platform = await startPlatform({
  serviceEnv: { 'queue-worker': { QUEUE_WORKER_CONCURRENCY: String(CONNECTIONS * 2) } },
});
const redis = new Redis(platform.redisUrl);
const prefix = `faas-${platform.instanceId}:`;
try {
  const digest = await uploadCode(platform.httpUrl, handlerBundle('async-noop', 'export const handler = async () => null;\n'));
  await deployFunction(platform.httpUrl, 'noop', digest, { memoryMb: 128, maxConcurrency: CONNECTIONS * 2, concurrencyPerSandbox: CONNECTIONS });
  // Warm: a sandbox exists and the worker holds a lease before anything is timed.
  for (let i = 0; i < 20; i++) await send(`${platform.httpUrl}/v1/functions/noop/invocations`, { method: 'POST', body: PAYLOAD, headers: { 'content-type': 'application/json' } });
  const warm = [];
  await pool(200, CONNECTIONS, async (i) => {
    const answer = await send(`${platform.httpUrl}/v1/functions/noop/invocations`, { method: 'POST', body: PAYLOAD, headers: { 'content-type': 'application/json', 'x-invocation-type': 'Event', 'x-call-id': `warm-${i}` } });
    warm.push(answer.json.callId);
  });
  await untilDone(redis, prefix, warm, 60_000);

  // The message the async path stores, so the raw loop moves the same bytes.
  const envelopeBytes = toBinary(
    AsyncInvocationSchema,
    create(AsyncInvocationSchema, { invocation: { functionName: 'noop', callId: '00000000-0000-0000-0000-000000000000', kind: InvocationKind.EVENT, payload: Buffer.from(PAYLOAD), contentType: 'application/json' }, queuedAtMs: BigInt(Date.now()), source: 'http' }),
  ).byteLength;
  const rawRate = await rawJetStream(platform.natsUrl, CALLS, envelopeBytes);

  const callIds = Array.from({ length: CALLS }, (_, i) => `bench-${i}`);
  const started = Date.now();
  await pool(CALLS, CONNECTIONS, async (i) => {
    const answer = await send(`${platform.httpUrl}/v1/functions/noop/invocations`, { method: 'POST', body: PAYLOAD, headers: { 'content-type': 'application/json', 'x-invocation-type': 'Event', 'x-call-id': callIds[i] } });
    if (answer.status !== 202) throw new Error(`queueing failed: ${answer.status} ${answer.text}`);
  });
  const acceptedMs = Date.now() - started;
  const done = await untilDone(redis, prefix, callIds, 300_000);
  const lastStored = Math.max(...done.map((record) => Number(record.finishedAtMs)));
  const asyncRate = CALLS / ((lastStored - started) / 1_000);
  const loadedStart = summarise(done.map((record) => Number(record.firstStartedAtMs - record.queuedAtMs)));

  // The queue idle: one call at a time, each waited for.
  const idleIds = [];
  for (let i = 0; i < IDLE_CALLS; i++) {
    const callId = `idle-${i}`;
    await send(`${platform.httpUrl}/v1/functions/noop/invocations`, { method: 'POST', body: PAYLOAD, headers: { 'content-type': 'application/json', 'x-invocation-type': 'Event', 'x-call-id': callId } });
    await untilDone(redis, prefix, [callId], 10_000);
    idleIds.push(callId);
  }
  const idle = await records(redis, prefix, idleIds);
  const idleStart = summarise(idle.map((record) => Number(record.firstStartedAtMs - record.queuedAtMs)));

  const ratio = asyncRate / rawRate;
  console.log(`\nasync calls, ${CALLS} at ${CONNECTIONS} in flight, ${envelopeBytes}-byte messages (one run, same machine)`);
  console.log(`  raw JetStream publish + consume + ack       ${rawRate.toFixed(0).padStart(7)} msg/s`);
  console.log(`  async accepted → outcome stored (noop)      ${asyncRate.toFixed(0).padStart(7)} calls/s   (all ${CALLS} accepted in ${acceptedMs} ms)`);
  console.log(`  accepted → started under load               p50 ${fmt(loadedStart.p50)} ms  p99 ${fmt(loadedStart.p99)} ms  max ${fmt(loadedStart.max)} ms`);
  console.log(`  accepted → started, queue idle (${IDLE_CALLS} calls)   p50 ${fmt(idleStart.p50)} ms  p99 ${fmt(idleStart.p99)} ms  max ${fmt(idleStart.max)} ms`);
  console.log(`  ${verdictAtLeast(ratio, 0.25, 'async / raw JetStream')}`);
  console.log(`  ${verdict(idleStart.p99, 50, 'p99 accepted → started, queue not backed up (ms)')}`);
} finally {
  closeClient();
  redis.disconnect();
  await platform.stop();
}
