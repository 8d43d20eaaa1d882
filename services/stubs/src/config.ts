import { loadEnvOrExit, optional, parse, metricsVariables, platformVariables, redisVariables, type ConfigOf } from '@faas/config';
import { parseDuration } from './duration.js';

export const envSchema = {
  STUBS_LISTEN: optional('127.0.0.1:50052', parse.address, 'host:port the gRPC server binds (port 0 picks a free port)'),
  ...redisVariables('function configs and the code index'),
  STUBS_DATA_DIR: optional('/var/lib/faas/stubs', parse.string, 'directory holding code bundles (blobs/sha256/<hex>) when they are on disk, and upload temp files'),
  STUBS_CODE_STORE: optional('disk', parse.oneOf('disk', 's3'), 'where code bundles are kept: disk (STUBS_DATA_DIR, one replica) or s3 (a bucket every replica shares; credentials from the AWS SDK\'s usual sources: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a web identity, an instance role)'),
  STUBS_S3_BUCKET: optional('', parse.string, 'the bucket, with STUBS_CODE_STORE=s3 (required then)'),
  STUBS_S3_PREFIX: optional('', parse.string, 'put before every key in the bucket, e.g. "faas/" (bundles go under <prefix>sha256/<hex>)'),
  STUBS_S3_ENDPOINT: optional('', parse.url, 'an S3-compatible store\'s URL (MinIO, Ceph, …); empty: AWS S3'),
  STUBS_S3_REGION: optional('us-east-1', parse.string, 'the bucket\'s region'),
  STUBS_S3_FORCE_PATH_STYLE: optional(false, parse.boolean, 'address the bucket as <endpoint>/<bucket> rather than <bucket>.<endpoint>, as most S3-compatible stores want'),
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
  return loadEnvOrExit('stubs', envSchema, (config) =>
    config.STUBS_CODE_STORE === 's3' && !config.STUBS_S3_BUCKET ? ['STUBS_S3_BUCKET is required with STUBS_CODE_STORE=s3'] : [],
  );
}
