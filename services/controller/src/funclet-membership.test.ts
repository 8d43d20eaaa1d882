import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { FuncletMembership } from './funclet-membership.js';
import { controllerKeys } from './redis-keys.js';

/** The three commands membership uses, over a map; counts the scans. */
class FakeRedis {
  readonly values = new Map<string, string>();
  scans = 0;
  async set(key: string, value: string): Promise<'OK'> {
    this.values.set(key, value);
    return 'OK';
  }
  async scan(): Promise<[string, string[]]> {
    this.scans++;
    return ['0', [...this.values.keys()]];
  }
  async mget(keys: string[]): Promise<(string | null)[]> {
    return keys.map((key) => this.values.get(key) ?? null);
  }
}

const funclet = (id: string, bootId = 'boot-1') => ({ id, address: `${id}:1`, bootId, memoryMbTotal: 1024, memoryMbUsed: 0, runtimes: ['nodejs'] });

describe('FuncletMembership', () => {
  it('keeps its listing current through heartbeats instead of rescanning Redis', async () => {
    const redis = new FakeRedis();
    const membership = new FuncletMembership(redis as unknown as Redis, controllerKeys('faas:'), { ttlMs: 10_000, cacheMs: 60_000 });
    await membership.register(funclet('b'));
    expect((await membership.live()).map((f) => f.id)).toEqual(['b']);

    await membership.register(funclet('a'));
    await membership.register(funclet('b', 'boot-2'));
    const live = await membership.live();
    expect(live.map((f) => [f.id, f.bootId])).toEqual([
      ['a', 'boot-1'],
      ['b', 'boot-2'],
    ]);
    expect(redis.scans).toBe(1);
  });

  it('rescans once the listing is older than its cache time', async () => {
    let now = 0;
    const redis = new FakeRedis();
    const membership = new FuncletMembership(redis as unknown as Redis, controllerKeys('faas:'), { ttlMs: 10_000, cacheMs: 500, now: () => now });
    await membership.register(funclet('a'));
    await membership.live();
    now += 400;
    await membership.register(funclet('a'));
    await membership.live();
    expect(redis.scans).toBe(1);
    now += 200; // a heartbeat does not make the listing younger
    await membership.live();
    expect(redis.scans).toBe(2);
  });
});
