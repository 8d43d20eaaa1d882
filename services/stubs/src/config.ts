import { loadEnvOrExit, optional, parse, metricsVariables, platformVariables, redisVariables, type ConfigOf } from '@faas/config';
import { parseDuration } from './duration.js';

export const envSchema = {
  STUBS_LISTEN: optional('127.0.0.1:50052', parse.address, 'host:port the gRPC server binds (port 0 picks a free port)'),
  ...redisVariables('function configs and the code index'),
  STUBS_DATA_DIR: optional('/var/lib/faas/stubs', parse.string, 'directory holding code bundles (blobs/sha256/<hex>) and upload temp files'),
  STUBS_MAX_CODE_MB: optional(50, parse.integer(1, 4096), 'largest code bundle accepted by PutCode, in MiB'),
  // Kept as written (the README shows "24h"); checked here, turned into ms by retentionMs().
  STUBS_CODE_RETENTION: optional(
    '24h',
    (raw) => (parseDuration(raw), raw),
    'how long a code bundle that no function, published version or custom runtime references (any more, or yet) is kept before it is deleted: 24h, 90m, 30s…',
  ),
  STUBS_FUNCTION_CACHE_MS: optional(2_000, parse.integer(0, 60_000), 'longest GetFunction answers from memory; writes, also other replicas\', drop an entry at once through the changes channel; 0 reads Redis every time'),
  ...metricsVariables(9103),
  ...platformVariables,
};

export type StubsConfig = ConfigOf<typeof envSchema>;

export const retentionMs = (config: StubsConfig): number => parseDuration(config.STUBS_CODE_RETENTION);

/** Reads the environment, or exits naming every bad variable. */
export function loadStubsConfig(): StubsConfig {
  return loadEnvOrExit('stubs', envSchema);
}
