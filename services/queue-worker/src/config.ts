import { invokerVariables } from '@faas/client';
import { loadEnvOrExit, optional, parse, platformVariables, redisVariables, type ConfigOf } from '@faas/config';

export const envSchema = {
  QUEUE_WORKER_LISTEN: optional('127.0.0.1:50054', parse.address, 'host:port of the QueueWorker gRPC server (port 0 binds a free port)'),
  NATS_URL: optional('nats://127.0.0.1:4222', parse.url, 'NATS server with JetStream enabled'),
  ...redisVariables('call records'),
  ...invokerVariables,
  QUEUE_WORKER_CONCURRENCY: optional(16, parse.integer(1, 10_000), 'most asynchronous calls running at once in this process'),
  QUEUE_WORKER_MAX_ATTEMPTS: optional(5, parse.integer(1, 100), 'deliveries of one call (first try included) before it is failed'),
  QUEUE_WORKER_ACK_WAIT_MS: optional(60_000, parse.integer(1_000, 3_600_000), 'JetStream ack wait of the worker consumer; long calls keep it alive with progress acks'),
  CALL_RESULT_TTL_SECONDS: optional(86_400, parse.integer(1, 31_536_000), 'how long call records stay readable in Redis'),
  QUEUE_WORKER_SHUTDOWN_GRACE_MS: optional(30_000, parse.integer(0, 3_600_000), 'how long shutdown waits for running calls before leaving them to redelivery'),
  ...platformVariables,
};

export type QueueWorkerConfig = ConfigOf<typeof envSchema>;

/** Reads the environment, or exits naming every bad variable. */
export function loadQueueWorkerConfig(): QueueWorkerConfig {
  return loadEnvOrExit('queue-worker', envSchema);
}
