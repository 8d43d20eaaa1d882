import { optional, parse } from './env.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * What every service reads, with one meaning everywhere: each service's
 * schema spreads these, so defaults, parsing and wording cannot drift apart.
 */
export const platformVariables = {
  FAAS_INTERNAL_TOKEN: optional('', parse.string, 'bearer token every gRPC call between the services must carry; empty disables authentication'),
  LOG_LEVEL: optional('info', parse.oneOf(...LOG_LEVELS), 'pino log level'),
};

/** REDIS_URL and REDIS_KEY_PREFIX, for a service that keeps `contents` in Redis. */
export function redisVariables(contents: string) {
  return {
    REDIS_URL: optional('redis://127.0.0.1:6379', parse.url, `Redis holding ${contents}`),
    REDIS_KEY_PREFIX: optional('faas:', parse.string, 'replaces the leading "faas:" of every Redis key, so platforms can share a Redis'),
  };
}
