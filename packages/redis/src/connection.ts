import type { Redis } from 'ioredis';
import { PlatformError } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import { describeRedisTarget, newRedisClient, type RedisTarget } from './target.js';

/**
 * A Redis connection that fails calls at once while Redis is down instead of
 * queueing them (callers get service_unavailable and may retry), and keeps
 * reconnecting in the background.
 */
export function connectRedis(target: RedisTarget, log: Logger, options: { autoPipelining?: boolean } = {}): Redis {
  const redis = newRedisClient(target, {
    // Many calls in flight each send a few commands: batched, they leave in one write per event-loop turn.
    enableAutoPipelining: options.autoPipelining ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  // Log transitions only: a down Redis would otherwise log on every retry.
  let up = false;
  redis.on('ready', () => {
    up = true;
    log.info({ redis: describeRedisTarget(target) }, 'redis connected');
  });
  redis.on('error', (error: Error) => {
    if (up) log.warn({ err: error.message }, 'redis connection failed');
  });
  redis.on('close', () => {
    if (up) log.warn('redis connection lost; reconnecting');
    up = false;
  });
  return redis;
}

export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** Resolves once Redis is ready or `timeoutMs` has passed, whichever is first. */
export function waitForRedis(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (isRedisReady(redis)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

const FAILOVER_REPLY = /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN)\b/;

/**
 * Runs Redis commands, turning connection failures into service_unavailable.
 * Errors Redis itself answered (wrong type, script errors) are bugs: internal.
 */
export async function withRedis<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PlatformError) throw error;
    const err = error as Error;
    // A failover answers for a while with these; the command may be retried once a new master is up.
    if (err?.name === 'ReplyError' && FAILOVER_REPLY.test(err.message)) {
      throw new PlatformError('service_unavailable', `redis is failing over: ${err.message}`, { cause: error });
    }
    if (err?.name === 'ReplyError') throw new PlatformError('internal', `redis refused a command: ${err.message}`, { cause: error });
    throw new PlatformError('service_unavailable', `redis is unavailable: ${err?.message ?? String(error)}`, { cause: error });
  }
}
