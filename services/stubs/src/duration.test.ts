import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads the units people write', () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('7d')).toBe(604_800_000);
  });

  it('refuses numbers without a unit, zero and other shapes', () => {
    for (const raw of ['3600', '0s', '1.5h', 'soon', '-1h', '']) expect(() => parseDuration(raw), raw).toThrow();
  });
});
