import { describe, expect, it } from 'vitest';
import { parsePoolSizes } from './config.js';

describe('FUNCLET_POOL_SIZES', () => {
  it('reads runtime=count lists and refuses anything else', () => {
    expect(parsePoolSizes('')).toEqual({});
    expect(parsePoolSizes('nodejs=100, python3=0')).toEqual({ nodejs: 100, python3: 0 });
    expect(() => parsePoolSizes('nodejs')).toThrow(/runtime=count/);
    expect(() => parsePoolSizes('nodejs=-1')).toThrow(/runtime=count/);
    expect(() => parsePoolSizes('nodejs=5000')).toThrow(/runtime=count/);
  });
});
