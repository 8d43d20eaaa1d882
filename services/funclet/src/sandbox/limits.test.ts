import { describe, expect, it } from 'vitest';
import { limitsFor, poolLimits } from './limits.js';

describe('limits from the function config', () => {
  it('gives CPU in proportion to memory: a quarter core at least, every core at most', () => {
    expect(limitsFor(128, { hostCores: 2 })).toMatchObject({ memoryBytes: 128 << 20, cpuShares: 128, cpuQuotaUs: 25_000, cpuPeriodUs: 100_000, pids: 256, tmpMb: 64 });
    expect(limitsFor(512, { hostCores: 2 }).cpuQuotaUs).toBe(50_000);
    expect(limitsFor(1024, { hostCores: 2 }).cpuQuotaUs).toBe(100_000);
    expect(limitsFor(4096, { hostCores: 2 }).cpuQuotaUs).toBe(200_000);
    expect(limitsFor(256, { hostCores: 2 }).cpuShares).toBe(2 * limitsFor(128, { hostCores: 2 }).cpuShares);
    expect(limitsFor(128, { tmpMb: 16, hostCores: 2 }).tmpMb).toBe(16);
  });

  it('keeps waiting pool sandboxes small and last in line for the CPU', () => {
    expect(poolLimits(64)).toMatchObject({ memoryBytes: 64 << 20, cpuShares: 2, cpuQuotaUs: -1 });
  });
});
