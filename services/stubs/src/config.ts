import { loadEnvOrExit, optional, parse } from '@faas/config';

const stubsEnvSchema = {
  STUBS_LISTEN: optional('127.0.0.1:50052', parse.address, 'host:port the gRPC server binds (port 0 picks a free port)'),
  REDIS_URL: optional('redis://127.0.0.1:6379', parse.url, 'Redis holding function configs and the code index'),
  REDIS_KEY_PREFIX: optional('faas:', parse.string, 'replaces the leading "faas:" of every Redis key, so platforms can share a Redis'),
  STUBS_DATA_DIR: optional('/var/lib/faas/stubs', parse.string, 'directory holding code bundles (blobs/sha256/<hex>) and upload temp files'),
  STUBS_MAX_CODE_MB: optional(50, parse.integer(1, 4096), 'largest code bundle accepted by PutCode, in MiB'),
  STUBS_FUNCTION_CACHE_MS: optional(2_000, parse.integer(0, 60_000), 'longest GetFunction answers from memory; writes, also other replicas\', drop an entry at once through the changes channel; 0 reads Redis every time'),
  FAAS_INTERNAL_TOKEN: optional('', parse.string, 'bearer token every gRPC call must carry; empty disables authentication'),
  LOG_LEVEL: optional('info', parse.oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'pino log level'),
};

export interface StubsConfig {
  readonly STUBS_LISTEN: string;
  readonly REDIS_URL: string;
  readonly REDIS_KEY_PREFIX: string;
  readonly STUBS_DATA_DIR: string;
  readonly STUBS_MAX_CODE_MB: number;
  readonly STUBS_FUNCTION_CACHE_MS: number;
  readonly FAAS_INTERNAL_TOKEN: string;
  readonly LOG_LEVEL: string;
}

/** Reads the environment, or exits naming every bad variable. */
export function loadStubsConfig(): StubsConfig {
  return loadEnvOrExit('stubs', stubsEnvSchema);
}
