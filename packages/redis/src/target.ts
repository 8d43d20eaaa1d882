import { Redis, type RedisOptions } from 'ioredis';

/**
 * Which Redis to use: one server by URL, or the master that a set of
 * Sentinels names, followed through failovers. Services read it from
 * REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER (redisTargetOf).
 */
export type RedisTarget = { readonly url: string } | { readonly sentinels: readonly string[]; readonly masterName: string };

/** The variables packages/config's redisVariables declares. */
export interface RedisVariables {
  readonly REDIS_URL: string;
  readonly REDIS_SENTINELS: readonly string[];
  readonly REDIS_SENTINEL_MASTER: string;
}

/** Sentinels when any are listed, else the URL. */
export function redisTargetOf(config: RedisVariables): RedisTarget {
  return config.REDIS_SENTINELS.length > 0 ? { sentinels: config.REDIS_SENTINELS, masterName: config.REDIS_SENTINEL_MASTER } : { url: config.REDIS_URL };
}

/** For logs: the URL, or "sentinel:<master>@host:port,…". */
export function describeRedisTarget(target: RedisTarget): string {
  return 'url' in target ? target.url : `sentinel:${target.masterName}@${target.sentinels.join(',')}`;
}

/** Every host:port or URL the target reaches (what callbacks must not be sent to). */
export function redisEndpoints(target: RedisTarget): string[] {
  return 'url' in target ? [target.url] : [...target.sentinels];
}

/**
 * A client for the target. Behind Sentinel it asks the sentinels for the
 * master on every (re)connect, and drops its connection when the server it
 * reached says it is a replica (the old master, demoted by a failover), so
 * the next command goes to the new master.
 */
export function newRedisClient(target: RedisTarget, options: RedisOptions): Redis {
  if ('url' in target) return new Redis(target.url, options);
  return new Redis({
    ...options,
    sentinels: target.sentinels.map(hostAndPort),
    name: target.masterName,
    role: 'master',
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    // Sentinels announce +switch-master: reconnect at once rather than when the old master's socket dies.
    failoverDetector: true,
    reconnectOnError: (error) => (/^READONLY/.test(error.message) ? 1 : false),
  });
}

function hostAndPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}
