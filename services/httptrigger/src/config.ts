import { invokerVariables } from '@faas/client';
import { loadEnvOrExit, metricsSwitch, natsVariables, optional, parse, platformVariables, type ConfigOf } from '@faas/config';

export const envSchema = {
  HTTP_HOST: optional('', parse.string, 'interface the HTTP server binds (empty: 0.0.0.0 with auth on, 127.0.0.1 with FAAS_AUTH=off)'),
  HTTP_PORT: optional(8080, parse.port, 'HTTP port (0 binds a free port)'),
  HTTP_TLS_CERT_FILE: optional('', parse.string, 'PEM certificate (chain) the edge serves HTTPS with, on HTTP_PORT; with HTTP_TLS_KEY_FILE (both or neither; empty: plain HTTP)'),
  HTTP_TLS_KEY_FILE: optional('', parse.string, 'PEM private key of HTTP_TLS_CERT_FILE'),
  ...invokerVariables,
  STUBS_ADDRESS: optional('127.0.0.1:50052', parse.address, 'host:port of stubs (functions and code)'),
  QUEUE_WORKER_ADDRESS: optional('127.0.0.1:50054', parse.address, 'host:port of queue-worker (asynchronous call records)'),
  ...natsVariables('for asynchronous invocations (not needed to start)'),
  HTTP_MAX_CODE_MB: optional(50, parse.integer(1, 4096), 'largest code bundle accepted by POST /v1/code, in MiB'),
  HTTP_MAX_PAYLOAD_MB: optional(6, parse.integer(1, 1024), 'largest synchronous invocation body, in MiB (larger: 413 payload_too_large)'),
  HTTP_MAX_ASYNC_PAYLOAD_KB: optional(256, parse.integer(1, 1024 * 1024), 'largest queued invocation body, in KiB (larger: 413 payload_too_large); NATS\' max_payload (1 MiB by default) caps it too'),
  HTTP_FUNCTION_CHECK_CACHE_MS: optional(1_000, parse.integer(0, 60_000), 'how long the edge remembers that a function exists when queueing calls for it (a function deleted through another edge meanwhile: the call ends failed, function_not_found); 0 asks stubs every time'),
  HTTP_HISTORY_SIZE: optional(100, parse.integer(0, 10_000), 'calls remembered per function for GET /v1/functions/{name}/history (0 keeps none)'),
  FAAS_BASIC_AUTH_USER: optional('', parse.string, 'user of the basic auth on the OpenFaaS /system/* routes; with FAAS_BASIC_AUTH_PASSWORD it turns basic auth on (off when both are empty)'),
  FAAS_BASIC_AUTH_USER_FILE: optional('', parse.string, 'file holding that user (a trailing newline is dropped); wins over FAAS_BASIC_AUTH_USER'),
  FAAS_BASIC_AUTH_PASSWORD: optional('', parse.string, 'password of the basic auth on /system/*'),
  FAAS_BASIC_AUTH_PASSWORD_FILE: optional('', parse.string, 'file holding that password (a trailing newline is dropped); wins over FAAS_BASIC_AUTH_PASSWORD'),
  FAAS_LAMBDA_ACCESS_KEYS: optional('', parse.string, 'access keys the Lambda API (/2015-03-31/…) accepts SigV4 signatures from, as id:secret pairs separated by commas; with none configured (here or in FAAS_LAMBDA_CREDENTIALS_FILE) unsigned requests are accepted'),
  FAAS_LAMBDA_CREDENTIALS_FILE: optional('', parse.string, 'an AWS shared-credentials file whose profiles\' keys the Lambda API accepts too (read again on each lookup, so keys can be rotated)'),
  HTTP_TRIGGER_REFRESH_MS: optional(2_000, parse.integer(100, 600_000), 'how often the edge reads the HTTP triggers from stubs again (a trigger written through this edge is served at once; through another edge, within this interval)'),
  FAAS_AUTH: optional('on' as const, parse.oneOf('on', 'off'), 'API tokens on the management API and on functions with auth "token"; off lets anyone who reaches the port do anything'),
  FAAS_ADMIN_TOKEN: optional('', parse.string, 'the bootstrap admin token itself (32 characters or more), where a file is awkward (compose); FAAS_ADMIN_TOKEN_FILE is preferred'),
  FAAS_ADMIN_TOKEN_FILE: optional('', parse.string, 'file holding the bootstrap admin token (`npm run up` writes .run/admin-token); empty: only tokens made through the API'),
  AUTH_TOKEN_CACHE_MS: optional(5_000, parse.integer(0, 300_000), 'how long the edge remembers a token it looked up in stubs (a token revoked through another edge keeps working here this long)'),
  AUTH_FUNCTION_REFRESH_MS: optional(2_000, parse.integer(0, 300_000), 'how often the edge re-reads whether a function needs a token, in the background (a change through another edge applies within this)'),
  AUTH_MAX_FAILURES: optional(20, parse.integer(1, 1_000_000), 'bad credentials one address may send per AUTH_FAILURE_WINDOW_MS before it is refused with 429 too_many_auth_failures'),
  AUTH_FAILURE_WINDOW_MS: optional(60_000, parse.integer(1_000, 3_600_000), 'the window AUTH_MAX_FAILURES counts in'),
  HTTP_SHUTDOWN_GRACE_MS: optional(30_000, parse.integer(0, 3_600_000), 'how long shutdown waits for running requests'),
  ...metricsSwitch,
  ...platformVariables,
};

export type HttpTriggerConfig = ConfigOf<typeof envSchema>;

/** Reads the environment, or exits naming every bad variable. */
export function loadHttpTriggerConfig(): HttpTriggerConfig {
  return loadEnvOrExit('httptrigger', envSchema, (config) =>
    Boolean(config.HTTP_TLS_CERT_FILE) === Boolean(config.HTTP_TLS_KEY_FILE) ? [] : ['HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE go together: set both for HTTPS, or neither for plain HTTP'],
  );
}
