import { loadEnvOrExit, optional, parse } from '@faas/config';

const controllerEnvSchema = {
  CONTROLLER_LISTEN: optional('127.0.0.1:50051', parse.address, 'host:port the gRPC server binds (port 0 picks a free port)'),
  REDIS_URL: optional('redis://127.0.0.1:6379', parse.url, 'Redis holding funclet membership'),
  REDIS_KEY_PREFIX: optional('faas:', parse.string, 'replaces the leading "faas:" of every Redis key, so platforms can share a Redis'),
  STUBS_ADDRESS: optional('127.0.0.1:50052', parse.address, 'host:port of stubs, asked for function configs the controller does not hold in memory'),
  CONTROLLER_FUNCTION_CACHE_MS: optional(2_000, parse.integer(0, 60_000), 'longest a function config is served from memory without a change notice from stubs (deploys drop it at once; this bounds a silently dead subscription); 0 asks stubs on every invocation'),
  FUNCLET_TTL_MS: optional(10_000, parse.integer(1_000, 600_000), 'a funclet that has not heartbeaten for this long is considered gone'),
  CONTROLLER_QUEUE_TIMEOUT_MS: optional(10_000, parse.integer(1, 3_600_000), 'longest an invocation waits for a sandbox when the function is at max_concurrency'),
  CONTROLLER_MAX_QUEUE: optional(100, parse.integer(0, 1_000_000), 'most invocations waiting per function; beyond, too_many_requests'),
  CONTROLLER_IDLE_TTL_MS: optional(300_000, parse.integer(1_000, 86_400_000), 'idle sandboxes are destroyed after this long'),
  FAAS_INTERNAL_TOKEN: optional('', parse.string, 'bearer token every gRPC call must carry and send; empty disables authentication'),
  LOG_LEVEL: optional('info', parse.oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'pino log level'),
};

export interface ControllerConfig {
  readonly CONTROLLER_LISTEN: string;
  readonly REDIS_URL: string;
  readonly REDIS_KEY_PREFIX: string;
  readonly STUBS_ADDRESS: string;
  readonly CONTROLLER_FUNCTION_CACHE_MS: number;
  readonly FUNCLET_TTL_MS: number;
  readonly CONTROLLER_QUEUE_TIMEOUT_MS: number;
  readonly CONTROLLER_MAX_QUEUE: number;
  readonly CONTROLLER_IDLE_TTL_MS: number;
  readonly FAAS_INTERNAL_TOKEN: string;
  readonly LOG_LEVEL: string;
}

/** Reads the environment, or exits naming every bad variable. */
export function loadControllerConfig(): ControllerConfig {
  return loadEnvOrExit('controller', controllerEnvSchema);
}
