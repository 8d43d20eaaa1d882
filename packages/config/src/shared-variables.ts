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

/**
 * METRICS_LISTEN for a service with a metrics port of its own (httptrigger
 * serves /metrics on its HTTP port instead), and FAAS_METRICS, which every
 * service honours (read by @faas/telemetry's registry).
 */
export function metricsVariables(defaultPort: number) {
  return {
    METRICS_LISTEN: optional(`0.0.0.0:${defaultPort}`, parseMetricsListen, 'host:port serving Prometheus GET /metrics; "off" turns the port off'),
    ...metricsSwitch,
  };
}

export const metricsSwitch = {
  FAAS_METRICS: optional(true, parse.boolean, 'keep Prometheus metrics; false makes every series a no-op (to measure their cost)'),
};

function parseMetricsListen(raw: string): string {
  return raw === 'off' ? '' : parse.address(raw);
}
