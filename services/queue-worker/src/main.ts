import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Controller, QueueWorker, addHealthService, addService, createClient, grpc, listen, shutdown } from '@faas/protocol';
import { connectRedis, isRedisReady, waitForRedis } from '@faas/redis';
import { createLogger, stopTelemetry } from '@faas/telemetry';
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
const controller = createClient(Controller, config.CONTROLLER_ADDRESS, { token, peerName: 'controller' });

const nc: NatsConnection = await connect({
  servers: config.NATS_URL,
  name: SERVICE,
  // The stream is the source of work: wait for NATS rather than exit.
  waitOnFirstConnect: true,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 1_000,
});
let natsConnected = true;
void (async () => {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') {
      natsConnected = false;
      logger.warn({ server: status.server }, 'nats disconnected');
    } else if (status.type === 'reconnect') {
      natsConnected = true;
      logger.info({ server: status.server }, 'nats reconnected');
    }
  }
})();

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
      controller,
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
addHealthService(server, () => natsConnected && isRedisReady(redis));
const boundAddress = await listen(server, config.QUEUE_WORKER_LISTEN);
tracker.start();
worker.start();
logger.info({ address: boundAddress, stream: STREAM_NAME }, 'listening');

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const [, finished] = await Promise.all([tracker.stop(1_000), worker.stop(config.QUEUE_WORKER_SHUTDOWN_GRACE_MS)]);
  if (!finished) logger.warn({ running: worker.busy }, 'calls still running at shutdown; JetStream will redeliver them');
  await nc.drain().catch((error) => logger.warn({ err: error }, 'nats drain failed'));
  await shutdown(server, 2_000);
  controller.close();
  await redis.quit().catch(() => redis.disconnect());
  await stopTelemetry();
  logger.info('stopped');
  process.exit(0);
}
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
