import { describe, expect, it } from 'vitest';
import { ConfigError, natsVariables, optional, parse, platformVariables, readEnv, redisVariables, required, streamVariables } from './index.js';

const schema = {
  PORT: optional(8080, parse.port, 'HTTP port'),
  REDIS_URL: required(parse.url, 'Redis URL'),
  DEBUG: optional(false, parse.boolean, 'debug logs'),
  MODE: optional('fast' as const, parse.oneOf('fast', 'safe'), 'mode'),
};

describe('readEnv', () => {
  it('applies defaults and parses values', () => {
    const config = readEnv(schema, { REDIS_URL: 'redis://127.0.0.1:6379', DEBUG: 'yes' });
    expect(config).toEqual({ PORT: 8080, REDIS_URL: 'redis://127.0.0.1:6379', DEBUG: true, MODE: 'fast' });
  });

  it('names every bad or missing variable', () => {
    let error: unknown;
    try {
      readEnv(schema, { PORT: '70000', MODE: 'slow' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT="70000" is invalid');
    expect(message).toContain('REDIS_URL is required');
    expect(message).toContain('MODE="slow" is invalid: expected one of fast, safe');
  });

  it('checks host:port addresses', () => {
    expect(parse.address('127.0.0.1:50051')).toBe('127.0.0.1:50051');
    expect(() => parse.address('127.0.0.1')).toThrow('host:port');
  });
});

describe('the variables every service shares', () => {
  it('have one default and one parser everywhere', () => {
    const shared = { ...redisVariables('test data'), ...platformVariables };
    expect(readEnv(shared, {})).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_SENTINELS: [],
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_KEY_PREFIX: 'faas:',
      FAAS_INTERNAL_TOKEN: '',
      LOG_LEVEL: 'info',
      FAAS_TLS_CA_FILE: '',
      FAAS_TLS_CERT_FILE: '',
      FAAS_TLS_KEY_FILE: '',
      FAAS_TLS_SERVER_NAME: '',
    });
    expect(() => readEnv(shared, { LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL="loud" is invalid: expected one of trace, debug, info, warn, error, fatal, silent');
    expect(shared.REDIS_URL.description).toContain('Redis holding test data');
  });

  it('take Redis Sentinels as host:port, and NATS servers as URLs, one or several', () => {
    expect(readEnv(redisVariables('x'), { REDIS_SENTINELS: 'a:26379,b:26380', REDIS_SENTINEL_MASTER: 'main' })).toMatchObject({ REDIS_SENTINELS: ['a:26379', 'b:26380'], REDIS_SENTINEL_MASTER: 'main' });
    expect(() => readEnv(redisVariables('x'), { REDIS_SENTINELS: 'a' })).toThrow('REDIS_SENTINELS="a" is invalid: expected host:port');
    expect(readEnv(natsVariables('x'), {})).toEqual({ NATS_URL: ['nats://127.0.0.1:4222'] });
    expect(readEnv(natsVariables('x'), { NATS_URL: 'nats://a:4222, nats://b:4223' })).toEqual({ NATS_URL: ['nats://a:4222', 'nats://b:4223'] });
    expect(() => readEnv(natsVariables('x'), { NATS_URL: 'nats://a:4222,not a url' })).toThrow('NATS_URL="nats://a:4222,not a url" is invalid');
    expect(() => readEnv(streamVariables, { NATS_STREAM_REPLICAS: '7' })).toThrow('expected an integer from 1 to 5');
  });
});

describe('address lists', () => {
  it('take one or several host:port, and name a bad one', () => {
    expect(parse.addressList('127.0.0.1:1')).toEqual(['127.0.0.1:1']);
    expect(parse.addressList('a:1, b:2,[::1]:3')).toEqual(['a:1', 'b:2', '[::1]:3']);
    expect(() => parse.addressList('a:1,nope')).toThrow('expected host:port');
    expect(() => parse.addressList(' , ')).toThrow();
  });
});

describe('durations', () => {
  it('take a unit or bare seconds, within bounds', () => {
    const duration = parse.duration(1_000, 86_400_000 * 30);
    expect(duration('24h')).toBe(86_400_000);
    expect(duration('90m')).toBe(5_400_000);
    expect(duration('3600')).toBe(3_600_000);
    expect(duration('1500ms')).toBe(1_500);
    expect(() => duration('10ms')).toThrow(/from 1000 ms/);
    expect(() => duration('1 week')).toThrow(/duration/);
  });
});
