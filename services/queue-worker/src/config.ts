import { invokerVariables } from '@faas/client';
import { loadEnvOrExit, metricsVariables, natsVariables, optional, parse, platformVariables, redisVariables, streamVariables, type ConfigOf } from '@faas/config';
import { ASYNC_BASE_DELAY_MS, ASYNC_MAX_ATTEMPTS, ASYNC_MAX_DELAY_MS } from '@faas/protocol';

const DAY_MS = 86_400_000;

export const envSchema = {
  QUEUE_WORKER_LISTEN: optional('127.0.0.1:50054', parse.address, 'host:port of the QueueWorker gRPC server (port 0 binds a free port)'),
  ...natsVariables('for asynchronous invocations, their dead letters and callbacks'),
  ...streamVariables,
  ...redisVariables('call records, their indexes and the cron triggers\' last ticks'),
  ...invokerVariables,
  STUBS_ADDRESS: optional('127.0.0.1:50052', parse.address, 'host:port of stubs: function configs (async policy, callback secret, limits) and triggers'),
  QUEUE_WORKER_FUNCTION_CACHE_MS: optional(2_000, parse.integer(0, 600_000), 'longest a function config is used from memory without a change notice from stubs; 0 asks stubs for every call'),
  QUEUE_WORKER_CONCURRENCY: optional(16, parse.integer(1, 10_000), 'most asynchronous calls running at once in this process'),
  QUEUE_WORKER_MAX_ATTEMPTS: optional(ASYNC_MAX_ATTEMPTS.default, parse.integer(ASYNC_MAX_ATTEMPTS.min, ASYNC_MAX_ATTEMPTS.max), 'runs of one call (first included) before it is dead-lettered, for functions whose async.maxAttempts is unset'),
  QUEUE_WORKER_BASE_DELAY_MS: optional(ASYNC_BASE_DELAY_MS.default, parse.integer(ASYNC_BASE_DELAY_MS.min, ASYNC_BASE_DELAY_MS.max), 'retry backoff base for functions whose async.baseDelayMs is unset (full jitter: a retry waits up to base·2^(attempt-1))'),
  QUEUE_WORKER_MAX_DELAY_MS: optional(ASYNC_MAX_DELAY_MS.default, parse.integer(ASYNC_MAX_DELAY_MS.min, ASYNC_MAX_DELAY_MS.max), 'retry backoff cap for functions whose async.maxDelayMs is unset'),
  QUEUE_WORKER_ACK_WAIT_MS: optional(60_000, parse.integer(1_000, 3_600_000), 'JetStream ack wait of the worker consumer; long calls keep it alive with progress acks'),
  FAAS_CALL_RETENTION: optional(DAY_MS, parse.duration(60_000, 365 * DAY_MS), 'how long call records and dead letters are kept, e.g. 24h, 90m, 7d (default 24 h, shown in ms)'),
  QUEUE_WORKER_CALLBACK_ATTEMPTS: optional(10, parse.integer(1, 100), 'deliveries of one callback before it is given up (failed)'),
  QUEUE_WORKER_CALLBACK_BASE_DELAY_MS: optional(1_000, parse.integer(10, 3_600_000), 'callback retry backoff base (full jitter, doubling per attempt)'),
  QUEUE_WORKER_CALLBACK_MAX_DELAY_MS: optional(60_000, parse.integer(10, 86_400_000), 'callback retry backoff cap'),
  QUEUE_WORKER_CALLBACK_TIMEOUT_MS: optional(10_000, parse.integer(100, 600_000), 'longest one callback POST may take'),
  QUEUE_WORKER_CALLBACK_ALLOW: optional(['*'], parse.list, 'callback targets allowed: host, host:port, *.domain or CIDR (e.g. 10.0.0.0/8), comma-separated; * allows any host not denied'),
  QUEUE_WORKER_CALLBACK_DENY: optional([], parse.list, 'callback targets refused besides the platform\'s own (NATS, Redis, controller, stubs, this service, link-local and metadata addresses): same forms as the allow-list, e.g. the HTTP edge\'s host:port'),
  QUEUE_WORKER_SHUTDOWN_GRACE_MS: optional(30_000, parse.integer(0, 3_600_000), 'how long shutdown waits for running calls before leaving them to redelivery'),
  ...metricsVariables(9104),
  ...platformVariables,
};

export type QueueWorkerConfig = ConfigOf<typeof envSchema>;

/** Reads the environment, or exits naming every bad variable. */
export function loadQueueWorkerConfig(): QueueWorkerConfig {
  return loadEnvOrExit('queue-worker', envSchema);
}
