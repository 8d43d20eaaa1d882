import { describe, expect, it } from 'vitest';
import { CallStats } from './call-stats.js';

const MINUTE = 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);

describe('CallStats', () => {
  it('counts calls, errors and cold starts per minute, and reads p50/p99 from the latency bins', () => {
    const stats = new CallStats();
    for (let i = 0; i < 98; i++) stats.record('echo', 2, false, false, T0 + 1_000);
    stats.record('echo', 2, true, true, T0 + 2_000);
    stats.record('echo', 500, false, false, T0 + 3_000);
    stats.record('echo', 1, false, false, T0 + MINUTE + 5);
    const points = stats.lastHour('echo', T0 + MINUTE + 10);
    expect(points).toHaveLength(60);
    const [previous, current] = points.slice(-2);
    expect(previous).toMatchObject({ t: T0, calls: 100, errors: 1, coldStarts: 1 });
    // Bin bounds grow by 1.25: the median's bin holds 2 ms, the 99th percentile's too (99 of 100 took 2 ms).
    expect(previous!.p50Ms).toBeGreaterThanOrEqual(2);
    expect(previous!.p50Ms).toBeLessThan(2.5);
    expect(previous!.p99Ms).toBe(previous!.p50Ms);
    expect(current).toMatchObject({ t: T0 + MINUTE, calls: 1, errors: 0 });
    expect(points[0]).toMatchObject({ calls: 0, p50Ms: null });
  });

  it('forgets minutes older than an hour', () => {
    const stats = new CallStats();
    stats.record('echo', 1, false, false, T0);
    const later = stats.lastHour('echo', T0 + 60 * MINUTE);
    expect(later.every((point) => point.calls === 0)).toBe(true);
    stats.record('echo', 1, false, false, T0 + 60 * MINUTE);
    expect(stats.lastHour('echo', T0 + 60 * MINUTE).at(-1)!.calls).toBe(1);
  });

  it('answers an hour of zeros for a function never called', () => {
    expect(new CallStats().lastHour('nobody', T0).every((point) => point.calls === 0 && point.p99Ms === null)).toBe(true);
  });
});
