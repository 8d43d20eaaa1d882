import { describe, expect, it } from 'vitest';
import { createLogger } from '@faas/telemetry';
import { BootSlots } from './boot-slots.js';
import { PoolPolicy } from './pool-policy.js';
import { SandboxPool, type PoolMember } from './sandbox-pool.js';

const silent = createLogger('funclet-test', 'silent');
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

class FakeSandbox implements PoolMember {
  isGone = false;
  private readonly listeners: Array<() => void> = [];
  constructor(readonly id: string, readonly runtime: string) {}
  onGone(listener: () => void) {
    this.listeners.push(listener);
  }
  async destroy() {
    if (this.isGone) return;
    this.isGone = true;
    for (const listener of this.listeners) listener();
  }
}

function fakePool(
  options: { baseSize?: number; maxSize?: number; budget?: number; now?: () => number; failBoots?: number; sizes?: Record<string, number>; slots?: BootSlots } = {},
) {
  let booted = 0;
  let booting = 0;
  let mostBootingAtOnce = 0;
  const sandboxes: FakeSandbox[] = [];
  let failuresLeft = options.failBoots ?? 0;
  let reserved = 0;
  const budget = options.budget ?? Infinity;
  const pool = new SandboxPool<FakeSandbox>({
    runtimes: ['nodejs', 'python3'],
    baseSize: options.baseSize ?? 2,
    maxSize: options.maxSize ?? 4,
    tickMs: 20,
    sizes: options.sizes,
    slots: options.slots,
    boot: async (runtime) => {
      booting += 1;
      mostBootingAtOnce = Math.max(mostBootingAtOnce, booting);
      await settle();
      booting -= 1;
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('runc failed');
      }
      const sandbox = new FakeSandbox(`sb-${++booted}`, runtime);
      sandboxes.push(sandbox);
      return sandbox;
    },
    reserve: () => {
      if (reserved + 1 > budget) return false;
      reserved += 1;
      return true;
    },
    unreserve: () => {
      reserved -= 1;
    },
    log: silent,
    now: options.now,
  });
  return { pool, reservations: () => reserved, booted: () => booted, all: () => sandboxes, mostBootingAtOnce: () => mostBootingAtOnce };
}

async function until(condition: () => boolean) {
  for (let i = 0; i < 400 && !condition(); i++) await settle();
  expect(condition()).toBe(true);
}

describe('PoolPolicy', () => {
  it('grows by one per miss up to the maximum, and decays back to the base size after a quiet spell', () => {
    const policy = new PoolPolicy({ baseSize: 2, maxSize: 4, decayAfterMs: 1000 });
    policy.recordTake(true, 0);
    expect(policy.target).toBe(2);
    policy.recordTake(false, 10);
    policy.recordTake(false, 20);
    policy.recordTake(false, 30);
    expect(policy.target).toBe(4);
    policy.tick(500);
    expect(policy.target).toBe(4);
    policy.tick(1100);
    expect(policy.target).toBe(3);
    policy.tick(1500);
    expect(policy.target).toBe(3);
    policy.tick(2200);
    policy.tick(3300);
    expect(policy.target).toBe(2);
  });

  it('stays off when the configured size is 0', () => {
    const policy = new PoolPolicy({ baseSize: 0, maxSize: 8 });
    policy.recordTake(false, 0);
    expect(policy.enabled).toBe(false);
    expect(policy.target).toBe(0);
  });
});

describe('SandboxPool', () => {
  it('fills every runtime to its size and refills in the background after a take', async () => {
    const { pool, reservations } = fakePool();
    pool.start();
    await until(() => pool.readyCount('nodejs') === 2 && pool.readyCount('python3') === 2);
    expect(reservations()).toBe(4);

    const taken = pool.take('nodejs')!;
    expect(taken.runtime).toBe('nodejs');
    // The taken sandbox's reservation is now its user's: the pool holds 3, and refills to 4.
    expect(pool.readyCount('nodejs')).toBe(1);
    await until(() => pool.readyCount('nodejs') === 2);
    expect(reservations()).toBe(5);
    await pool.close();
  });

  it('never hands out the same sandbox twice, nor one that died while waiting', async () => {
    const { pool, reservations, all } = fakePool({ baseSize: 2, maxSize: 2 });
    pool.start();
    await until(() => pool.readyCount('nodejs') === 2 && pool.readyCount('python3') === 2);
    const first = pool.take('nodejs')!;
    const second = pool.take('nodejs')!;
    expect(first.id).not.toBe(second.id);
    await until(() => pool.readyCount('nodejs') === 2);
    const held = reservations();
    // A waiting sandbox's runtime dies: it leaves the pool, its memory goes back, and a new one replaces it.
    const waiting = all().filter((sandbox) => sandbox.runtime === 'nodejs' && sandbox !== first && sandbox !== second);
    await waiting[0]!.destroy();
    expect(reservations()).toBe(held - 1);
    expect(pool.readyCount('nodejs')).toBe(1);
    const handedOut = new Set([first.id, second.id]);
    for (let i = 0; i < 4; i++) {
      await until(() => pool.readyCount('nodejs') > 0);
      const next = pool.take('nodejs')!;
      expect(next.isGone).toBe(false);
      expect(handedOut.has(next.id)).toBe(false);
      handedOut.add(next.id);
    }
    await pool.close();
  });

  it('grows when takes find it empty, up to the maximum', async () => {
    const { pool } = fakePool({ baseSize: 1, maxSize: 3 });
    pool.start();
    await until(() => pool.readyCount('nodejs') === 1);
    expect(pool.take('nodejs')).toBeDefined();
    expect(pool.take('nodejs')).toBeUndefined();
    expect(pool.take('nodejs')).toBeUndefined();
    expect(pool.target('nodejs')).toBe(3);
    await until(() => pool.readyCount('nodejs') === 3);
    await pool.close();
  });

  it('does not boot beyond the memory budget, and gives memory back when reclaimed', async () => {
    const { pool, reservations } = fakePool({ baseSize: 2, budget: 3 });
    pool.start();
    await until(() => pool.readyCount('nodejs') + pool.readyCount('python3') === 3);
    await settle();
    expect(pool.readyCount('nodejs') + pool.readyCount('python3')).toBe(3);
    expect(pool.reclaim(2)).toBe(2);
    expect(reservations()).toBe(1);
    await pool.close();
  });

  it('stops refilling when the budget is full while boot slots are free, instead of retrying without end', async () => {
    // A slot given back because the reservation failed calls the pool again: it must not loop on the same refusal.
    const { pool } = fakePool({ baseSize: 2, budget: 3, slots: new BootSlots(2) });
    pool.start();
    await until(() => pool.readyCount('nodejs') + pool.readyCount('python3') === 3);
    await settle();
    expect(pool.readyCount('nodejs') + pool.readyCount('python3')).toBe(3);
    await pool.close();
  });

  it('is off with size 0', async () => {
    const { pool, booted } = fakePool({ baseSize: 0 });
    pool.start();
    await settle();
    expect(pool.take('nodejs')).toBeUndefined();
    expect(booted()).toBe(0);
  });

  it('keeps trying after boots fail, and destroys everything on close', async () => {
    const { pool, reservations } = fakePool({ baseSize: 1, failBoots: 2 });
    pool.start();
    await until(() => pool.readyCount('nodejs') === 1 && pool.readyCount('python3') === 1);
    const ready = [pool.take('nodejs')!];
    await pool.close();
    expect(ready[0]!.isGone).toBe(false);
    expect(pool.size).toBe(0);
    expect(reservations()).toBe(1);
  });

  it('takes per-runtime sizes, and boots as many at once as the slots allow while drained, one at a time once half full', async () => {
    const slots = new BootSlots(3);
    const { pool, mostBootingAtOnce } = fakePool({ baseSize: 1, maxSize: 1, sizes: { nodejs: 8, python3: 0 }, slots });
    pool.start();
    await until(() => pool.readyCount('nodejs') === 8);
    expect(pool.readyCount('python3')).toBe(0);
    expect(pool.target('nodejs')).toBe(8);
    expect(mostBootingAtOnce()).toBe(3);
    expect(slots.busy).toBe(0);
    await pool.close();

    const gentle = fakePool({ baseSize: 4, maxSize: 4, slots: new BootSlots(3) });
    gentle.pool.start();
    await until(() => gentle.pool.readyCount('nodejs') === 4 && gentle.pool.readyCount('python3') === 4);
    const before = gentle.booted();
    gentle.pool.take('nodejs');
    await until(() => gentle.pool.readyCount('nodejs') === 4);
    expect(gentle.booted()).toBe(before + 1);
    await gentle.pool.close();
  });

  it('leaves boot slots to requests waiting for one', async () => {
    const slots = new BootSlots(1);
    await slots.acquire();
    const { pool, booted } = fakePool({ baseSize: 2, slots });
    pool.start();
    const request = slots.acquire();
    slots.release();
    await request;
    await settle();
    expect(booted()).toBe(0);
    slots.release();
    await until(() => pool.readyCount('nodejs') === 2 && pool.readyCount('python3') === 2);
    await pool.close();
  });
});

describe('SandboxPool refills during a burst', () => {
  it('waits while requests are being served, then refills', async () => {
    let busy = true;
    const booted: string[] = [];
    const pool = new SandboxPool<FakeSandbox>({
      runtimes: ['nodejs'],
      baseSize: 1,
      maxSize: 1,
      tickMs: 1000,
      deferRefill: () => busy,
      boot: async (runtime) => {
        booted.push(runtime);
        return new FakeSandbox(`sb-${booted.length}`, runtime);
      },
      reserve: () => true,
      unreserve: () => {},
      log: silent,
    });
    pool.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(booted).toEqual([]);
    busy = false;
    await until(() => pool.readyCount('nodejs') === 1);
    await pool.close();
  });
});
