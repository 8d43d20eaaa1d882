import { invokerVariables } from '@faas/client';
import { loadEnvOrExit, optional, parse, platformVariables, type ConfigOf } from '@faas/config';

export const envSchema = {
  HTTP_HOST: optional('', parse.string, 'interface the HTTP server binds (empty: 0.0.0.0 with auth on, 127.0.0.1 with FAAS_AUTH=off)'),
  HTTP_PORT: optional(8080, parse.port, 'HTTP port (0 binds a free port)'),
  ...invokerVariables,
  STUBS_ADDRESS: optional('127.0.0.1:50052', parse.address, 'host:port of stubs (functions and code)'),
  QUEUE_WORKER_ADDRESS: optional('127.0.0.1:50054', parse.address, 'host:port of queue-worker (asynchronous call records)'),
  NATS_URL: optional('nats://127.0.0.1:4222', parse.url, 'NATS with JetStream, for asynchronous invocations (not needed to start)'),
  HTTP_MAX_CODE_MB: optional(50, parse.integer(1, 4096), 'largest code bundle accepted by POST /v1/code, in MiB'),
  HTTP_MAX_PAYLOAD_MB: optional(6, parse.integer(1, 1024), 'largest synchronous invocation body, in MiB (larger: 413 payload_too_large)'),
  HTTP_MAX_ASYNC_PAYLOAD_KB: optional(256, parse.integer(1, 1024 * 1024), 'largest queued invocation body, in KiB (larger: 413 payload_too_large); NATS\' max_payload (1 MiB by default) caps it too'),
  HTTP_FUNCTION_CHECK_CACHE_MS: optional(1_000, parse.integer(0, 60_000), 'how long the edge remembers that a function exists when queueing calls for it (a function deleted through another edge meanwhile: the call ends failed, function_not_found); 0 asks stubs every time'),
  FAAS_AUTH: optional('on' as const, parse.oneOf('on', 'off'), 'API tokens on the management API and on functions with auth "token"; off lets anyone who reaches the port do anything'),
  FAAS_ADMIN_TOKEN: optional('', parse.string, 'the bootstrap admin token itself (32 characters or more), where a file is awkward (compose); FAAS_ADMIN_TOKEN_FILE is preferred'),
  FAAS_ADMIN_TOKEN_FILE: optional('', parse.string, 'file holding the bootstrap admin token (`npm run up` writes .run/admin-token); empty: only tokens made through the API'),
  FAAS_AWS_CREDENTIALS_FILE: optional('', parse.string, 'AWS shared-credentials file whose access keys the Lambda-compatible routes accept (`npm run up` writes .run/aws-credentials)'),
  AUTH_TOKEN_CACHE_MS: optional(5_000, parse.integer(0, 300_000), 'how long the edge remembers a token it looked up in stubs (a token revoked through another edge keeps working here this long)'),
  AUTH_FUNCTION_REFRESH_MS: optional(2_000, parse.integer(0, 300_000), 'how often the edge re-reads whether a function needs a token, in the background (a change through another edge applies within this)'),
  AUTH_MAX_FAILURES: optional(20, parse.integer(1, 1_000_000), 'bad credentials one address may send per AUTH_FAILURE_WINDOW_MS before it is refused with 429 too_many_auth_failures'),
  AUTH_FAILURE_WINDOW_MS: optional(60_000, parse.integer(1_000, 3_600_000), 'the window AUTH_MAX_FAILURES counts in'),
  HTTP_SHUTDOWN_GRACE_MS: optional(30_000, parse.integer(0, 3_600_000), 'how long shutdown waits for running requests'),
  ...platformVariables,
};

export type HttpTriggerConfig = ConfigOf<typeof envSchema>;

/** Reads the environment, or exits naming every bad variable. */
export function loadHttpTriggerConfig(): HttpTriggerConfig {
  return loadEnvOrExit('httptrigger', envSchema);
}
