export { connectRedis, isRedisReady, waitForRedis, withRedis } from './connection.js';
export { subscribeChannel, type ChannelHandlers, type ChannelSubscription } from './subscription.js';
export { NoticeCache, DROP_ALL_NOTICE, type NoticeCacheOptions } from './notice-cache.js';
export { describeRedisTarget, newRedisClient, redisEndpoints, redisTargetOf, type RedisTarget, type RedisVariables } from './target.js';
