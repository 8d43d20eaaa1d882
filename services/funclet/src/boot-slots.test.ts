import { describe, expect, it } from 'vitest';
import { BootSlots } from './boot-slots.js';

describe('BootSlots', () => {
  it('lets requests queue for a slot in order, ahead of the pool, and tells the pool when a slot is free', async () => {
    const slots = new BootSlots(2);
    let freed = 0;
    slots.onRelease(() => (freed += 1));
    expect(slots.tryAcquire()).toBe(true);
    await slots.acquire();
    const order: string[] = [];
    const first = slots.acquire().then(() => order.push('first'));
    const second = slots.acquire().then(() => order.push('second'));
    // A request waits: the pool may not jump the queue even once a slot frees.
    expect(slots.tryAcquire()).toBe(false);
    slots.release();
    await first;
    expect(slots.tryAcquire()).toBe(false);
    slots.release();
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(freed).toBe(0);
    slots.release();
    expect(freed).toBe(1);
    expect(slots.tryAcquire()).toBe(true);
  });
});
