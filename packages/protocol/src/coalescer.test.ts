import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('sends what was added within one turn as one batch', async () => {
    const written: number[][] = [];
    const coalescer = new Coalescer<number[]>(() => [], (batch) => (written.push(batch), true), () => {});
    coalescer.add((batch) => batch.push(1));
    coalescer.add((batch) => batch.push(2));
    expect(coalescer.waiting).toBe(2);
    await turn();
    coalescer.add((batch) => batch.push(3));
    await turn();
    expect(written).toEqual([[1, 2], [3]]);
    expect(coalescer.waiting).toBe(0);
  });

  it('holds everything while the stream is full, and sends it in one batch once it drains', async () => {
    const written: number[][] = [];
    let full = true;
    let resume: (() => void) | undefined;
    const coalescer = new Coalescer<number[]>(
      () => [],
      (batch) => {
        written.push(batch);
        return !full;
      },
      (callback) => (resume = callback),
    );
    coalescer.add((batch) => batch.push(1));
    await turn();
    coalescer.add((batch) => batch.push(2));
    coalescer.add((batch) => batch.push(3));
    await turn();
    expect(written).toEqual([[1]]);
    expect(coalescer.waiting).toBe(2);
    full = false;
    resume!();
    await turn();
    expect(written).toEqual([[1], [2, 3]]);
  });
});
