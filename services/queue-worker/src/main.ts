import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@faas/nats';
import { Invoker } from '@faas/client';
import { QueueWorker, addHealthService, addService, grpc, listen, shutdown } from '@faas/protocol';
import { connectRedis, isRedisReady, waitForRedis } from '@faas/redis';
import { createLogger, onShutdownSignal } from '@faas/telemetry';
import { processMessage, trackMessage } from './call-processing.js';
import { CallStore } from './call-store.js';
import { loadQueueWorkerConfig } from './config.js';
import { PullLoop } from './pull-loop.js';
import { queueWorkerService } from './server.js';
import { STREAM_NAME, TRACKER_CONSUMER, WORKER_CONSUMER, ensureTopology } from './topology.js';

const SERVICE = 'queue-worker';
const config = loadQueueWorkerConfig();
const logger = createLogger(SERVICE, config.LOG_LEVEL);
const token = config.FAAS_INTERNAL_TOKEN || undefined;

// Commands fail at once while Redis is away: the message is nak'ed and comes back later.
const redis = connectRedis(config.REDIS_URL, logger);
if (!(await waitForRedis(redis, 5_000))) logger.warn({ redis: config.REDIS_URL }, 'redis is not reachable yet; starting anyway');
const store = new CallStore(redis, config.REDIS_KEY_PREFIX, config.CALL_RESULT_TTL_SECONDS);
const invoker = new Invoker({ controllerAddress: config.CONTROLLER_ADDRESS, token, dataPath: config.FAAS_DATA_PATH });

// The stream is the source of work: wait for NATS rather than exit.
const nats = connectNats({ url: config.NATS_URL, name: SERVICE, logger });
const nc = await nats.ready;

const jsm = await jetstreamManager(nc);
const topology = { concurrency: config.QUEUE_WORKER_CONCURRENCY, ackWaitMs: config.QUEUE_WORKER_ACK_WAIT_MS };
await ensureTopology(jsm, topology);
const js = jetstream(nc);
const recover = () => ensureTopology(jsm, topology);

const tracker = new PullLoop({
  name: TRACKER_CONSUMER,
  concurrency: 64,
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
    processMessage(message, {
      store,
      invoker,
      logger,
      maxAttempts: config.QUEUE_WORKER_MAX_ATTEMPTS,
      ackWaitMs: config.QUEUE_WORKER_ACK_WAIT_MS,
    }),
  recover,
  logger,
});

const server = new grpc.Server();
addService(server, QueueWorker, queueWorkerService(store), {
  token,
  onUnexpectedError: (error, method) => logger.error({ err: error, method }, 'unexpected error'),
});
addHealthService(server, () => nats.connected && isRedisReady(redis));
const boundAddress = await listen(server, config.QUEUE_WORKER_LISTEN);
tracker.start();
worker.start();
logger.info({ address: boundAddress, stream: STREAM_NAME }, 'listening');

onShutdownSignal(logger, async () => {
  const [, finished] = await Promise.all([tracker.stop(1_000), worker.stop(config.QUEUE_WORKER_SHUTDOWN_GRACE_MS)]);
  if (!finished) logger.warn({ running: worker.busy }, 'calls still running at shutdown; JetStream will redeliver them');
  await nats.close();
  await shutdown(server, 2_000);
  invoker.close();
  await redis.quit().catch(() => redis.disconnect());
});
