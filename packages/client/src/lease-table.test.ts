import { describe, expect, it } from 'vitest';
import { LeaseSchema, create, type LeaseRenewal } from '@faas/protocol';
import { LeaseTable } from './lease-table.js';

function setup() {
  let now = 1_000;
  const released: LeaseRenewal[] = [];
  const table = new LeaseTable({ idleRounds: 2, safetyMarginMs: 100, release: (renewal) => void released.push(renewal), now: () => now });
  const grant = (id: string, slots: number, ttlMs = 10_000) =>
    table.upsert(create(LeaseSchema, { leaseId: id, functionName: 'fn', funcletAddress: '127.0.0.1:1', sandboxId: `sb-${id}`, slots, ttlMs, timeoutMs: 3_000 }));
  return { table, released, grant, tick: (ms: number) => (now += ms) };
}

const plain = (renewals: Array<LeaseRenewal | { renewal: LeaseRenewal }>) =>
  renewals.map((item) => ('renewal' in item ? item.renewal : item)).map(({ leaseId, slots, sandboxGone }) => ({ leaseId, slots, sandboxGone }));

describe('LeaseTable', () => {
  it('hands out a lease while it has a free slot, and none once its slots are taken', () => {
    const { table, grant } = setup();
    grant('a', 2);
    const first = table.take('fn')!;
    const second = table.take('fn')!;
    expect(first.id).toBe('a');
    expect(second).toBe(first);
    expect(table.take('fn')).toBeUndefined();
    table.done(first);
    expect(table.take('fn')).toBe(first);
    expect(table.take('other')).toBeUndefined();
  });

  it('stops trusting a lease just before its time to live runs out', () => {
    const { table, grant, tick } = setup();
    grant('a', 1, 1_000);
    tick(899);
    const held = table.take('fn');
    expect(held).toBeDefined();
    table.done(held!);
    tick(2);
    expect(table.take('fn')).toBeUndefined();
  });

  it('renews each lease with the most slots it used at once, and gives back idle ones', () => {
    const { table, grant } = setup();
    grant('busy', 4);
    grant('idle', 1);
    const calls = [table.take('fn')!, table.take('fn')!, table.take('fn')!];
    for (const held of calls) table.done(held);
    expect(plain(table.renewals())).toEqual([
      { leaseId: 'busy', slots: 3, sandboxGone: false },
      { leaseId: 'idle', slots: 1, sandboxGone: false },
    ]);
    // Two rounds without a call and a lease goes back (slots 0): the idle one now, the busy one a round later.
    expect(plain(table.renewals())).toEqual([
      { leaseId: 'busy', slots: 1, sandboxGone: false },
      { leaseId: 'idle', slots: 0, sandboxGone: false },
    ]);
    expect(plain(table.renewals())).toEqual([{ leaseId: 'busy', slots: 0, sandboxGone: false }]);
    expect(table.size).toBe(0);
  });

  it('gives a revoked lease back at once when idle, or when its last call ends', () => {
    const { table, grant, released } = setup();
    grant('a', 2);
    grant('b', 1);
    const held = table.take('fn')!;
    table.revoke(['a', 'b']);
    expect(plain(released)).toEqual([{ leaseId: 'b', slots: 0, sandboxGone: false }]);
    expect(table.take('fn')).toBeUndefined();
    table.done(held);
    expect(plain(released).at(-1)).toEqual({ leaseId: 'a', slots: 0, sandboxGone: false });
  });

  it('forgets leases whose sandbox or funclet is gone, telling the controller', () => {
    const { table, grant, released } = setup();
    grant('a', 1);
    grant('b', 1);
    table.sandboxGone(table.take('fn')!);
    table.funcletGone('127.0.0.1:1');
    expect(plain(released)).toEqual([
      { leaseId: 'a', slots: 0, sandboxGone: true },
      { leaseId: 'b', slots: 0, sandboxGone: true },
    ]);
    expect(table.size).toBe(0);
  });

  it('drops the leases of a function this edge redeployed, as soon as they drain', () => {
    const { table, grant, released } = setup();
    grant('a', 1);
    table.functionChanged('fn');
    expect(table.take('fn')).toBeUndefined();
    expect(released).toHaveLength(1);
  });
});

describe('LeaseTable with several controllers', () => {
  it('sends each renewal to the controller that granted the lease', () => {
    const table = new LeaseTable({ idleRounds: 5, safetyMarginMs: 0, release: () => {} });
    const lease = (id: string) => create(LeaseSchema, { leaseId: id, functionName: 'fn', funcletAddress: 'f:1', sandboxId: id, slots: 1, ttlMs: 10_000 });
    table.upsert(lease('a'), 0);
    table.upsert(lease('b'), 1);
    table.done(table.take('fn')!);
    expect(table.renewals().map(({ renewal, grantedBy }) => [renewal.leaseId, grantedBy])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
  });
});
