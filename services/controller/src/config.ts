import { loadEnvOrExit, optional, parse, metricsVariables, platformVariables, redisVariables, type ConfigOf } from '@faas/config';

export const envSchema = {
  CONTROLLER_LISTEN: optional('127.0.0.1:50051', parse.address, 'host:port the gRPC server binds (port 0 picks a free port)'),
  ...redisVariables('the concurrency reservations shared by the controller replicas, and stubs\' change notices'),
  STUBS_ADDRESS: optional('127.0.0.1:50052', parse.address, 'host:port of stubs, asked for function configs the controller does not hold in memory'),
  CONTROLLER_FUNCTION_CACHE_MS: optional(2_000, parse.integer(0, 60_000), 'longest a function config is served from memory without a change notice from stubs (deploys drop it at once; this bounds a silently dead subscription); 0 asks stubs on every invocation'),
  CONTROLLER_QUEUE_TIMEOUT_MS: optional(10_000, parse.integer(1, 3_600_000), 'longest an invocation waits for a sandbox when the function is at max_concurrency'),
  CONTROLLER_MAX_QUEUE: optional(100, parse.integer(0, 1_000_000), 'most invocations waiting per function; beyond, too_many_requests'),
  CONTROLLER_RESERVATION_TTL_MS: optional(10_000, parse.integer(3_000, 600_000), 'a sandbox\'s share of its function\'s max_concurrency lapses this long after its controller stopped keeping it (it died and no other took the sandbox over)'),
  CONTROLLER_LEASE_TTL_MS: optional(15_000, parse.integer(1_000, 600_000), 'how long a lease an edge holds on a sandbox lasts unless renewed (edges renew every 2 s); an edge that dies frees its slots after this'),
  ...metricsVariables(9101),
  ...platformVariables,
};

export type ControllerConfig = ConfigOf<typeof envSchema>;

/** Reads the environment, or exits naming every bad variable. */
export function loadControllerConfig(): ControllerConfig {
  return loadEnvOrExit('controller', envSchema);
}
