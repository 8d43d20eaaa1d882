import { describe, expect, it } from 'vitest';
import { DROP_ALL_NOTICE, NoticeCache } from './notice-cache.js';

/** A stand-in for the registry: what is stored now, and how often it was read. */
class FakeSource {
  readonly values = new Map<string, string>();
  reads = 0;

  load(name: string): () => Promise<string> {
    return async () => {
      this.reads++;
      const value = this.values.get(name);
      if (value === undefined) throw new Error(`no function named ${name}`);
      return value;
    };
  }
}

function setup(ttlMs = 2_000) {
  let nowMs = 1_000_000;
  const cache = new NoticeCache<string>({ ttlMs, now: () => nowMs });
  const source = new FakeSource();
  source.values.set('hello', 'v1');
  return { cache, source, advance: (ms: number) => (nowMs += ms) };
}

describe('NoticeCache', () => {
  it('serves repeated reads from memory while notices flow', async () => {
    const { cache, source } = setup();
    cache.setNoticesFlowing(true);
    expect(await cache.get('hello', source.load('hello'))).toBe('v1');
    expect(await cache.get('hello', source.load('hello'))).toBe('v1');
    expect(source.reads).toBe(1);
  });

  it('serves the new value right after a change notice for it', async () => {
    const { cache, source } = setup();
    cache.setNoticesFlowing(true);
    await cache.get('hello', source.load('hello'));
    source.values.set('hello', 'v2');
    cache.onNotice('hello');
    expect(await cache.get('hello', source.load('hello'))).toBe('v2');
  });

  it('keeps other names on a notice for one, and drops every name on the drop-all notice', async () => {
    const { cache, source } = setup();
    source.values.set('other', 'o1');
    cache.setNoticesFlowing(true);
    await cache.get('hello', source.load('hello'));
    await cache.get('other', source.load('other'));
    cache.onNotice('hello');
    await cache.get('other', source.load('other'));
    expect(source.reads).toBe(2);

    source.values.set('other', 'o2');
    cache.onNotice(DROP_ALL_NOTICE);
    expect(cache.size).toBe(0);
    expect(await cache.get('other', source.load('other'))).toBe('o2');
  });

  it('reads the source every time while not subscribed, and keeps nothing', async () => {
    const { cache, source } = setup();
    await cache.get('hello', source.load('hello'));
    await cache.get('hello', source.load('hello'));
    expect(source.reads).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('forgets everything when the subscription is lost, since notices may be missed', async () => {
    const { cache, source } = setup();
    cache.setNoticesFlowing(true);
    await cache.get('hello', source.load('hello'));
    cache.setNoticesFlowing(false);
    // Deployed while the subscription was down: its notice never arrives.
    source.values.set('hello', 'v2');
    expect(await cache.get('hello', source.load('hello'))).toBe('v2');
    cache.setNoticesFlowing(true);
    expect(await cache.get('hello', source.load('hello'))).toBe('v2');
  });

  it('does not serve an entry older than the TTL, even without a notice', async () => {
    const { cache, source, advance } = setup(2_000);
    cache.setNoticesFlowing(true);
    await cache.get('hello', source.load('hello'));
    source.values.set('hello', 'v2');
    advance(1_999);
    expect(await cache.get('hello', source.load('hello'))).toBe('v1');
    advance(1);
    expect(await cache.get('hello', source.load('hello'))).toBe('v2');
  });

  it('is off with a TTL of 0', async () => {
    const { cache, source } = setup(0);
    cache.setNoticesFlowing(true);
    await cache.get('hello', source.load('hello'));
    await cache.get('hello', source.load('hello'));
    expect(source.reads).toBe(2);
  });

  it('does not remember a miss: a name created right after is found at once', async () => {
    const { cache, source } = setup();
    cache.setNoticesFlowing(true);
    await expect(cache.get('late', source.load('late'))).rejects.toThrow('no function named late');
    source.values.set('late', 'l1');
    expect(await cache.get('late', source.load('late'))).toBe('l1');
  });

  it('does not keep a value read before a notice that arrived while the read was in flight', async () => {
    const { cache, source } = setup();
    cache.setNoticesFlowing(true);
    let finishRead!: (value: string) => void;
    const slowRead = cache.get('hello', () => new Promise<string>((resolve) => (finishRead = resolve)));
    // The write and its notice land while the old value is on its way back.
    source.values.set('hello', 'v2');
    cache.onNotice('hello');
    finishRead('v1');
    expect(await slowRead).toBe('v1');
    expect(await cache.get('hello', source.load('hello'))).toBe('v2');
  });

  describe('refresh on notice', () => {
    function refreshing() {
      const source = new FakeSource();
      source.values.set('hello', 'v1');
      const pending: Array<() => void> = [];
      // Each reload waits until the test lets it finish, to interleave notices.
      const cache = new NoticeCache<string>({
        ttlMs: 2_000,
        refresh: (name) => new Promise((resolve, reject) => pending.push(() => source.load(name)().then(resolve, reject))),
      });
      cache.setNoticesFlowing(true);
      const settle = async () => {
        for (const finish of pending.splice(0)) finish();
        await new Promise((resolve) => setTimeout(resolve, 0));
      };
      return { cache, source, settle };
    }

    it('reloads the changed name so the next read is served from memory', async () => {
      const { cache, source, settle } = refreshing();
      source.values.set('hello', 'v2');
      cache.onNotice('hello');
      await settle();
      const readsAfterRefresh = source.reads;
      expect(await cache.get('hello', source.load('hello'))).toBe('v2');
      expect(source.reads).toBe(readsAfterRefresh);
    });

    it('keeps nothing when another notice lands while the reload runs', async () => {
      const { cache, source, settle } = refreshing();
      cache.onNotice('hello');
      source.values.set('hello', 'v3');
      cache.onNotice('other');
      await settle();
      // The first reload read v3 but began before the second notice: not kept.
      source.values.set('hello', 'v4');
      expect(await cache.get('hello', source.load('hello'))).toBe('v4');
    });

    it('keeps nothing when the reload fails (e.g. the function was deleted)', async () => {
      const { cache, source, settle } = refreshing();
      source.values.delete('hello');
      cache.onNotice('hello');
      await settle();
      expect(cache.size).toBe(0);
    });
  });

  describe('while the owner writes', () => {
    it('answers reads from the source and keeps nothing until the write returned', async () => {
      const { cache, source } = setup();
      cache.setNoticesFlowing(true);
      await cache.get('hello', source.load('hello')); // cached: v1
      let finishWrite!: () => void;
      const writing = cache.whileChanging('hello', () => new Promise<void>((resolve) => (finishWrite = resolve)));
      // The write has reached the store (and its notice other processes) but not returned yet.
      source.values.set('hello', 'v2');
      expect(await cache.get('hello', source.load('hello'))).toBe('v2');
      finishWrite();
      await writing;
      const reads = source.reads;
      expect(await cache.get('hello', source.load('hello'))).toBe('v2');
      expect(source.reads).toBe(reads + 1); // nothing read during the write was kept
    });

    it('bypasses every name while a drop-everything write runs', async () => {
      const { cache, source } = setup();
      cache.setNoticesFlowing(true);
      await cache.get('hello', source.load('hello'));
      let finishWrite!: () => void;
      const writing = cache.whileChanging(DROP_ALL_NOTICE, () => new Promise<void>((resolve) => (finishWrite = resolve)));
      source.values.set('hello', 'v2');
      expect(await cache.get('hello', source.load('hello'))).toBe('v2');
      finishWrite();
      await writing;
      expect(cache.size).toBe(0);
    });
  });
});
