import { invokerVariables } from '@faas/client';
import { loadEnvOrExit, natsVariables, optional, parse, platformVariables, type ConfigOf } from '@faas/config';

export const envSchema = {
  HTTP_HOST: optional('0.0.0.0', parse.string, 'interface the HTTP server binds'),
  HTTP_PORT: optional(8080, parse.port, 'HTTP port (0 binds a free port)'),
  ...invokerVariables,
  STUBS_ADDRESS: optional('127.0.0.1:50052', parse.address, 'host:port of stubs (functions and code)'),
  QUEUE_WORKER_ADDRESS: optional('127.0.0.1:50054', parse.address, 'host:port of queue-worker (asynchronous call records)'),
  ...natsVariables('for asynchronous invocations (not needed to start)'),
  HTTP_MAX_CODE_MB: optional(50, parse.integer(1, 4096), 'largest code bundle accepted by POST /v1/code, in MiB'),
  HTTP_MAX_PAYLOAD_MB: optional(6, parse.integer(1, 1024), 'largest synchronous invocation body, in MiB (larger: 413 payload_too_large)'),
  HTTP_MAX_ASYNC_PAYLOAD_KB: optional(256, parse.integer(1, 1024 * 1024), 'largest queued invocation body, in KiB (larger: 413 payload_too_large); NATS\' max_payload (1 MiB by default) caps it too'),
  HTTP_FUNCTION_CHECK_CACHE_MS: optional(1_000, parse.integer(0, 60_000), 'how long the edge remembers that a function exists when queueing calls for it (a function deleted through another edge meanwhile: the call ends failed, function_not_found); 0 asks stubs every time'),
  HTTP_SHUTDOWN_GRACE_MS: optional(30_000, parse.integer(0, 3_600_000), 'how long shutdown waits for running requests'),
  ...platformVariables,
};

export type HttpTriggerConfig = ConfigOf<typeof envSchema>;

/** Reads the environment, or exits naming every bad variable. */
export function loadHttpTriggerConfig(): HttpTriggerConfig {
  return loadEnvOrExit('httptrigger', envSchema);
}
