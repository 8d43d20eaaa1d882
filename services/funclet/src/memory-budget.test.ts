import { describe, expect, it } from 'vitest';
import { MemoryBudget } from './memory-budget.js';

function budget(options: { totalMb: number; poolBudgetMb?: number }) {
  const reclaimed: number[] = [];
  const memory = new MemoryBudget({ funcletId: 'f1', totalMb: options.totalMb, poolSandboxMb: 64, poolBudgetMb: options.poolBudgetMb, reclaimPool: (count) => void reclaimed.push(count) });
  const reserveAll = () => {
    let reserved = 0;
    while (memory.reservePoolSandbox()) reserved++;
    return reserved;
  };
  return { memory, reclaimed, reserveAll };
}

describe('MemoryBudget', () => {
  it('lets waiting pool sandboxes hold no more than the pool\'s budget', () => {
    const { memory, reserveAll } = budget({ totalMb: 4096, poolBudgetMb: 256 });
    expect(reserveAll()).toBe(4);
    memory.unreservePoolSandbox();
    expect(reserveAll()).toBe(1);
  });

  it('lets the pool use what functions leave when it has no budget of its own', () => {
    const { memory, reserveAll } = budget({ totalMb: 1024 });
    memory.holdForFunction(512);
    expect(reserveAll()).toBe(8);
  });

  it('drops pool sandboxes to make room for a function, which always wins', () => {
    const { memory, reclaimed, reserveAll } = budget({ totalMb: 1024, poolBudgetMb: 1024 });
    expect(reserveAll()).toBe(16);
    memory.ensureFits(256);
    memory.holdForFunction(256);
    expect(reclaimed).toEqual([4]);
    expect(memory.usedMb).toBe(256);
  });
});
