import { optional, parse } from './env.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * What every service reads, with one meaning everywhere: each service's
 * schema spreads these, so defaults, parsing and wording cannot drift apart.
 */
export const platformVariables = {
  FAAS_INTERNAL_TOKEN: optional('', parse.string, 'bearer token every gRPC call between the services must carry; empty disables authentication'),
  LOG_LEVEL: optional('info', parse.oneOf(...LOG_LEVELS), 'pino log level'),
  FAAS_TLS_CA_FILE: optional('', parse.string, 'PEM file of the CA that signs the services\' certificates: with FAAS_TLS_CERT_FILE and FAAS_TLS_KEY_FILE it turns on mutual TLS for every gRPC call between the services (all three or none; empty: plaintext)'),
  FAAS_TLS_CERT_FILE: optional('', parse.string, 'PEM certificate this service presents, as a gRPC server and as a client (signed by FAAS_TLS_CA_FILE)'),
  FAAS_TLS_KEY_FILE: optional('', parse.string, 'PEM private key of FAAS_TLS_CERT_FILE'),
  FAAS_TLS_SERVER_NAME: optional('', parse.string, 'with mutual TLS, the name a client expects in every server\'s certificate instead of the host it dials (`npm run up` sets faas-engine); empty: the host dialled'),
};

/**
 * REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER, and
 * REDIS_KEY_PREFIX, for a service that keeps `contents` in Redis
 * (@faas/redis's redisTargetOf reads them).
 */
export function redisVariables(contents: string) {
  return {
    REDIS_URL: optional('redis://127.0.0.1:6379', parse.url, `Redis holding ${contents}; unused when REDIS_SENTINELS is set`),
    REDIS_SENTINELS: optional<string[]>([], parse.addressList, 'host:port of Redis Sentinels, comma-separated: the master they name for REDIS_SENTINEL_MASTER is used instead of REDIS_URL, and followed through failovers'),
    REDIS_SENTINEL_MASTER: optional('mymaster', parse.string, 'the master\'s name in the Sentinels\' configuration'),
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
/** NATS_URL, for a service that uses NATS for `purpose`. */
export function natsVariables(purpose: string) {
  return {
    NATS_URL: optional(['nats://127.0.0.1:4222'], parse.urlList, `NATS with JetStream, ${purpose}; several servers of one cluster comma-separated (the client also learns the others from the one it reaches)`),
  };
}

/** NATS_STREAM_REPLICAS, for a service that creates JetStream streams. */
export const streamVariables = {
  NATS_STREAM_REPLICAS: optional(1, parse.integer(1, 5), 'copies JetStream keeps of each stream this service creates (3 on a three-server cluster: one server may fail without losing a message); applied to existing streams at start'),
};
