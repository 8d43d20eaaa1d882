import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { create, FunctionConfigSchema, type FunctionConfig } from '@faas/protocol';
import { NoticeCache } from '@faas/redis';
import { CachedFunctions, drawConfig, type FunctionTarget, type TargetSource } from './cached-functions.js';

/** Stubs as the controller sees it: the registry's current configs, and how often it was asked. */
class FakeStubs implements TargetSource {
  readonly configs = new Map<string, FunctionConfig>();
  calls = 0;

  deploy(name: string): void {
    const version = (this.configs.get(name)?.version ?? 0n) + 1n;
    this.configs.set(name, create(FunctionConfigSchema, { name, runtime: 'nodejs', handler: 'index.handler', version }));
  }

  async resolve(name: string): Promise<FunctionTarget> {
    this.calls++;
    const config = this.configs.get(name);
    if (!config) throw new PlatformError('function_not_found', `no function named ${name}`);
    return { primary: config, additionalWeight: 0 };
  }
}

/** What main.ts wires: a subscriber feeding notices and its subscription state into the cache. */
class FakeSubscriber {
  constructor(private readonly cache: NoticeCache<FunctionTarget>) {}
  subscribed(): void {
    this.cache.setNoticesFlowing(true);
  }
  lost(): void {
    this.cache.setNoticesFlowing(false);
  }
  notice(name: string): void {
    this.cache.onNotice(name);
  }
}

function setup(ttlMs = 2_000) {
  let nowMs = 5_000_000;
  const stubs = new FakeStubs();
  const cache = new NoticeCache<FunctionTarget>({ ttlMs, now: () => nowMs });
  const functions = new CachedFunctions(stubs, cache);
  const subscriber = new FakeSubscriber(cache);
  const get = async (name: string) => (await functions.get(name, { deadlineMs: Infinity })).version;
  return { stubs, subscriber, get, advance: (ms: number) => (nowMs += ms) };
}

describe('CachedFunctions', () => {
  it('asks stubs once for a run of warm invocations', async () => {
    const { stubs, subscriber, get } = setup();
    subscriber.subscribed();
    stubs.deploy('hello');
    for (let i = 0; i < 5; i++) expect(await get('hello')).toBe(1n);
    expect(stubs.calls).toBe(1);
  });

  it('runs the redeployed version on the first invocation after the change notice', async () => {
    const { stubs, subscriber, get } = setup();
    subscriber.subscribed();
    stubs.deploy('hello');
    await get('hello');
    stubs.deploy('hello');
    subscriber.notice('hello');
    expect(await get('hello')).toBe(2n);
  });

  it('asks stubs on every invocation until the subscription is confirmed, and again after it is lost', async () => {
    const { stubs, subscriber, get } = setup();
    stubs.deploy('hello');
    await get('hello');
    await get('hello');
    expect(stubs.calls).toBe(2);

    subscriber.subscribed();
    await get('hello');
    subscriber.lost();
    // A deploy whose notice was published while we were not listening.
    stubs.deploy('hello');
    expect(await get('hello')).toBe(2n);
    expect(await get('hello')).toBe(2n);
    expect(stubs.calls).toBe(5);
  });

  it('rereads a config older than the TTL even if no notice came', async () => {
    const { stubs, subscriber, get, advance } = setup(2_000);
    subscriber.subscribed();
    stubs.deploy('hello');
    await get('hello');
    stubs.deploy('hello');
    advance(1_000);
    expect(await get('hello')).toBe(1n);
    advance(1_000);
    expect(await get('hello')).toBe(2n);
  });

  it('finds a function deployed right after an invocation found none', async () => {
    const { stubs, subscriber, get } = setup();
    subscriber.subscribed();
    await expect(get('late')).rejects.toMatchObject({ code: 'function_not_found' });
    stubs.deploy('late');
    expect(await get('late')).toBe(1n);
  });
});

describe('drawConfig', () => {
  const version = (publishedVersion: number) => create(FunctionConfigSchema, { name: 'hello', publishedVersion });

  it('sends an alias\'s weight of the calls to its additional version', () => {
    const target = { primary: version(1), additional: version(2), additionalWeight: 0.2 };
    let draws = 0;
    // An even spread of draws over [0, 1): exactly the weight's share lands below it.
    const even = () => (draws++ % 100) / 100;
    const served = Array.from({ length: 1_000 }, () => drawConfig(target, even).publishedVersion);
    expect(served.filter((v) => v === 2)).toHaveLength(200);
    expect(served.filter((v) => v === 1)).toHaveLength(800);
  });

  it('always answers the one version of an alias without a second', () => {
    expect(drawConfig({ primary: version(3), additionalWeight: 0 }, () => 0).publishedVersion).toBe(3);
  });
});
