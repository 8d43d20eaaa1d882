import { describe, expect, it } from 'vitest';
import { FunctionGates } from './function-gates.js';

describe('FunctionGates', () => {
  it('admits at most the function\'s concurrency', () => {
    const gates = new FunctionGates(() => 0);
    expect(gates.tryEnter('f', 2)).toEqual({ entered: true });
    expect(gates.tryEnter('f', 2)).toEqual({ entered: true });
    expect(gates.tryEnter('f', 2)).toEqual({ entered: false, retryInMs: 0 });
    expect(gates.tryEnter('g', 2)).toEqual({ entered: true });
    gates.leave('f', 2, 'ok');
    expect(gates.tryEnter('f', 2)).toEqual({ entered: true });
  });

  it('halves the limit and pauses new calls after a 429, then grows back', () => {
    let now = 1_000;
    const gates = new FunctionGates(() => now);
    for (let i = 0; i < 8; i++) gates.tryEnter('f', 8);
    gates.leave('f', 8, 'throttled', 500);
    expect(gates.limitOf('f', 8)).toBe(4);
    expect(gates.tryEnter('f', 8)).toEqual({ entered: false, retryInMs: 500 });
    now = 1_500;
    for (let i = 0; i < 7; i++) gates.leave('f', 8, 'ok');
    expect(gates.limitOf('f', 8)).toBe(8);
  });
});
