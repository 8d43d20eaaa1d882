import { describe, expect, it } from 'vitest';
import { FuncletDirectory } from './funclet-directory.js';

const funclet = (id: string, bootId = 'boot-1') => ({ id, address: `${id}:1`, bootId, memoryMbTotal: 1024, memoryMbUsed: 0, runtimes: ['nodejs'] });

describe('FuncletDirectory', () => {
  it('lists the funclets that report, sorted, and says when one came back with a new boot', () => {
    const directory = new FuncletDirectory();
    const first = {};
    directory.report(first, funclet('b'), 1_000);
    directory.report({}, funclet('a'), 1_000);
    expect(directory.live().map((f) => f.id)).toEqual(['a', 'b']);
    expect(directory.report(first, funclet('b'), 1_000).replaced).toBeUndefined();
    expect(directory.report({}, funclet('b', 'boot-2'), 1_000).replaced?.bootId).toBe('boot-1');
  });

  it('ignores the end of a stream a reconnect already replaced', () => {
    const directory = new FuncletDirectory();
    const old = {};
    const current = {};
    directory.report(old, funclet('a'), 1_000);
    directory.report(current, funclet('a'), 1_000);
    expect(directory.detach('a', old)).toBe(false);
    expect(directory.live()).toHaveLength(1);
    expect(directory.detach('a', current)).toBe(true);
    expect(directory.live()).toEqual([]);
  });

  it('drops a funclet that stopped reporting though its stream stayed open', () => {
    const clock = { ms: 0 };
    const directory = new FuncletDirectory(() => clock.ms);
    directory.report({}, funclet('a'), 500);
    clock.ms = 1_900;
    expect(directory.dropSilent()).toEqual([]);
    clock.ms = 2_100;
    expect(directory.dropSilent().map((f) => f.id)).toEqual(['a']);
    expect(directory.live()).toEqual([]);
  });
});
