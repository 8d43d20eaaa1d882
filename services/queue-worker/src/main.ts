import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@faas/nats';
import { Invoker } from '@faas/client';
import { QueueWorker, Stubs, addHealthService, addService, configureTransportSecurity, createClient, formatQualifier, grpc, listen, parseQualifiedName, shutdown, type FunctionConfig } from '@faas/protocol';
import { NoticeCache, connectRedis, describeRedisTarget, isRedisReady, redisEndpoints, redisTargetOf, subscribeChannel, waitForRedis } from '@faas/redis';
import { createLogger, metrics, serveMetrics, onShutdownSignal } from '@faas/telemetry';
import { processMessage, trackMessage } from './call-processing.js';
import { CallStore } from './call-store.js';
import { deliverCallback, httpPoster } from './callback-processing.js';
import { CallbackTargets, platformEndpoints } from './callback-targets.js';
import { loadQueueWorkerConfig } from './config.js';
import { CronScheduler, cronCallId } from './cron-scheduler.js';
import { RedisTicks } from './cron-ticks.js';
import { JetStreamDeadLetters } from './dead-letters.js';
import { EventBindings } from './event-bindings.js';
import { FunctionGates } from './function-gates.js';
import { CachedFunctionSettings } from './function-settings.js';
import { StreamPublisher } from './invocation-publisher.js';
import { PullLoop } from './pull-loop.js';
import { replayDeadLetter } from './replays.js';
import { queueWorkerService } from './server.js';
import { collectQueueDepth } from './worker-metrics.js';
import { CALLBACK_CONSUMER, CALLBACK_STREAM, STREAM_NAME, TRACKER_CONSUMER, WORKER_CONSUMER, ensureTopology } from './topology.js';
import { TriggerSync } from './trigger-sync.js';

const SERVICE = 'queue-worker';
/** Triggers are re-read this often even without a change notice. */
const TRIGGER_SYNC_INTERVAL_MS = 10_000;
const config = loadQueueWorkerConfig();
configureTransportSecurity(config);
const logger = createLogger(SERVICE, config.LOG_LEVEL);
const token = config.FAAS_INTERNAL_TOKEN || undefined;

// Commands fail at once while Redis is away: the message is nak'ed and comes back later.
const redisTarget = redisTargetOf(config);
const redis = connectRedis(redisTarget, logger, { autoPipelining: true });
if (!(await waitForRedis(redis, 5_000))) logger.warn({ redis: describeRedisTarget(redisTarget) }, 'redis is not reachable yet; starting anyway');
const store = new CallStore(redis, config.REDIS_KEY_PREFIX, config.FAAS_CALL_RETENTION);
const invoker = new Invoker({ controllerAddress: config.CONTROLLER_ADDRESS, token, dataPath: config.FAAS_DATA_PATH });
const stubs = createClient(Stubs, config.STUBS_ADDRESS, { token, peerName: 'stubs' });

// Function configs from memory while stubs' change notices flow (docs/design.md "Redis keyspaces").
const functionCache = new NoticeCache<FunctionConfig>({ ttlMs: config.QUEUE_WORKER_FUNCTION_CACHE_MS });
const stubsPrefix = `${config.REDIS_KEY_PREFIX}stubs:`;
const functionChanges = subscribeChannel(
  redisTarget,
  `${stubsPrefix}changes`,
  { onMessage: (notice) => functionCache.onNotice(notice), onActiveChange: (active) => functionCache.setNoticesFlowing(active) },
  logger,
);
const settings = new CachedFunctionSettings(
  async (target) => {
    const { name, qualifier } = parseQualifiedName(target);
    return (await stubs.getFunction({ name, qualifier: formatQualifier(qualifier) })).function!;
  },
  functionCache,
  { maxAttempts: config.QUEUE_WORKER_MAX_ATTEMPTS, baseDelayMs: config.QUEUE_WORKER_BASE_DELAY_MS, maxDelayMs: config.QUEUE_WORKER_MAX_DELAY_MS, retryFunctionErrors: false },
);

// The stream is the source of work: wait for NATS rather than exit.
const nats = connectNats({ servers: config.NATS_URL, name: SERVICE, logger });
const nc = await nats.ready;
const connection = () => nats.connection;

const jsm = await jetstreamManager(nc);
const topology = {
  concurrency: config.QUEUE_WORKER_CONCURRENCY,
  ackWaitMs: config.QUEUE_WORKER_ACK_WAIT_MS,
  retentionMs: config.FAAS_CALL_RETENTION,
  callbackTimeoutMs: config.QUEUE_WORKER_CALLBACK_TIMEOUT_MS,
  streamReplicas: config.NATS_STREAM_REPLICAS,
};
await ensureTopology(jsm, topology);
const js = jetstream(nc);
const recover = () => ensureTopology(jsm, topology);
const publisher = new StreamPublisher(connection);
const deadLetters = new JetStreamDeadLetters(connection);
const gates = new FunctionGates();

const targets = new CallbackTargets({
  allow: config.QUEUE_WORKER_CALLBACK_ALLOW,
  deny: [
    ...platformEndpoints([...config.NATS_URL, ...redisEndpoints(redisTarget), config.STUBS_ADDRESS, config.QUEUE_WORKER_LISTEN, ...config.CONTROLLER_ADDRESS]),
    ...config.QUEUE_WORKER_CALLBACK_DENY,
  ],
});

const tracker = new PullLoop({
  name: TRACKER_CONSUMER,
  concurrency: 256,
  getConsumer: () => js.consumers.get(STREAM_NAME, TRACKER_CONSUMER),
  handle: (message) => trackMessage(message, store, logger),
  recover,
  logger,
});
const worker = new PullLoop({
  name: WORKER_CONSUMER,
  concurrency: config.QUEUE_WORKER_CONCURRENCY,
  getConsumer: () => js.consumers.get(STREAM_NAME, WORKER_CONSUMER),
  handle: (message) =>
    processMessage(message, { store, invoker, settings, gates, deadLetters, callbacks: publisher, logger, ackWaitMs: config.QUEUE_WORKER_ACK_WAIT_MS }),
  recover,
  logger,
});
const callbacks = new PullLoop({
  name: CALLBACK_CONSUMER,
  concurrency: 64,
  getConsumer: () => js.consumers.get(CALLBACK_STREAM, CALLBACK_CONSUMER),
  handle: (message) =>
    deliverCallback(message, {
      store,
      settings,
      targets,
      post: httpPoster(config.QUEUE_WORKER_CALLBACK_TIMEOUT_MS),
      publishResult: (subject, request) => publisher.publishCore(subject, request.body, request.headers),
      maxAttempts: config.QUEUE_WORKER_CALLBACK_ATTEMPTS,
      backoff: { baseMs: config.QUEUE_WORKER_CALLBACK_BASE_DELAY_MS, capMs: config.QUEUE_WORKER_CALLBACK_MAX_DELAY_MS },
      logger,
    }),
  recover,
  logger,
});

const events = new EventBindings({ connection, jsm, publish: (fn, data, msgId, headers) => publisher.publishEvent(fn, data, msgId, headers), logger, concurrency: 16, streamReplicas: config.NATS_STREAM_REPLICAS });
const cron = new CronScheduler({
  ticks: new RedisTicks(redis, config.REDIS_KEY_PREFIX),
  logger,
  fire: (trigger, tickMs) =>
    publisher.publishEvent(trigger.functionName, Buffer.from(trigger.event || '{}'), cronCallId(trigger.name, tickMs), {
      'Content-Type': 'application/json',
      'Faas-Source': `trigger:${trigger.name}`,
    }),
});
const triggers = new TriggerSync({
  list: async () => (await stubs.listTriggers({})).triggers,
  apply: [(all) => events.update(all), (all) => cron.update(all)],
  logger,
  intervalMs: TRIGGER_SYNC_INTERVAL_MS,
});
const triggerChanges = subscribeChannel(redisTarget, `${stubsPrefix}trigger-changes`, { onMessage: () => triggers.poke(), onActiveChange: (active) => active && triggers.poke() }, logger);

const server = new grpc.Server();
addService(
  server,
  QueueWorker,
  queueWorkerService({
    store,
    deadLetters,
    replay: (callId) => replayDeadLetter(callId, { store, deadLetters, publish: (request, msgId) => publisher.publishInvocation(request, msgId), logger }),
  }),
  {
    token,
    onUnexpectedError: (error, method) => logger.error({ err: error, method }, 'unexpected error'),
  },
);
addHealthService(server, () => nats.connected && isRedisReady(redis));
const boundAddress = await listen(server, config.QUEUE_WORKER_LISTEN);
tracker.start();
worker.start();
callbacks.start();
triggers.start();
collectQueueDepth(jsm);
await serveMetrics(metrics, config.METRICS_LISTEN, logger);
logger.info({ address: boundAddress, stream: STREAM_NAME }, 'listening');

onShutdownSignal(logger, async () => {
  cron.stop();
  await triggers.stop();
  await events.stop();
  const [, finished] = await Promise.all([tracker.stop(1_000), worker.stop(config.QUEUE_WORKER_SHUTDOWN_GRACE_MS), callbacks.stop(config.QUEUE_WORKER_CALLBACK_TIMEOUT_MS)]);
  if (!finished) logger.warn({ running: worker.busy }, 'calls still running at shutdown; JetStream will redeliver them');
  publisher.close();
  await nats.close();
  await shutdown(server, 2_000);
  invoker.close();
  stubs.close();
  await Promise.all([functionChanges.close(), triggerChanges.close()]);
  await redis.quit().catch(() => redis.disconnect());
});
