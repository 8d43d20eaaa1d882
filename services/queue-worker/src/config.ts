import { loadEnvOrExit, optional, parse } from '@faas/config';

const queueWorkerEnvSchema = {
  QUEUE_WORKER_LISTEN: optional('127.0.0.1:50054', parse.address, 'host:port of the QueueWorker gRPC server (port 0 binds a free port)'),
  NATS_URL: optional('nats://127.0.0.1:4222', parse.url, 'NATS server with JetStream enabled'),
  REDIS_URL: optional('redis://127.0.0.1:6379', parse.url, 'Redis holding call records'),
  REDIS_KEY_PREFIX: optional('faas:', parse.string, 'replaces the leading "faas:" of every Redis key this service owns'),
  CONTROLLER_ADDRESS: optional('127.0.0.1:50051', parse.address, 'host:port of the controller that runs invocations'),
  QUEUE_WORKER_CONCURRENCY: optional(16, parse.integer(1, 10_000), 'most asynchronous calls running at once in this process'),
  QUEUE_WORKER_MAX_ATTEMPTS: optional(5, parse.integer(1, 100), 'deliveries of one call (first try included) before it is failed'),
  QUEUE_WORKER_ACK_WAIT_MS: optional(60_000, parse.integer(1_000, 3_600_000), 'JetStream ack wait of the worker consumer; long calls keep it alive with progress acks'),
  CALL_RESULT_TTL_SECONDS: optional(86_400, parse.integer(1, 31_536_000), 'how long call records stay readable in Redis'),
  QUEUE_WORKER_SHUTDOWN_GRACE_MS: optional(30_000, parse.integer(0, 3_600_000), 'how long shutdown waits for running calls before leaving them to redelivery'),
  FAAS_INTERNAL_TOKEN: optional('', parse.string, 'bearer token between services; empty disables authentication'),
  LOG_LEVEL: optional('info', parse.oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), 'pino log level'),
};

export interface QueueWorkerConfig {
  readonly QUEUE_WORKER_LISTEN: string;
  readonly NATS_URL: string;
  readonly REDIS_URL: string;
  readonly REDIS_KEY_PREFIX: string;
  readonly CONTROLLER_ADDRESS: string;
  readonly QUEUE_WORKER_CONCURRENCY: number;
  readonly QUEUE_WORKER_MAX_ATTEMPTS: number;
  readonly QUEUE_WORKER_ACK_WAIT_MS: number;
  readonly CALL_RESULT_TTL_SECONDS: number;
  readonly QUEUE_WORKER_SHUTDOWN_GRACE_MS: number;
  readonly FAAS_INTERNAL_TOKEN: string;
  readonly LOG_LEVEL: string;
}

/** Reads the environment, or exits naming every bad variable. */
export function loadQueueWorkerConfig(): QueueWorkerConfig {
  return loadEnvOrExit('queue-worker', queueWorkerEnvSchema);
}
