import { describe, expect, it } from 'vitest';
import { SandboxOwnership } from './sandbox-ownership.js';

describe('SandboxOwnership', () => {
  it('frees the sandboxes of a controller whose last stream ended, and grants each to the first claimer', () => {
    const clock = { ms: 1_000 };
    const ownership = new SandboxOwnership(() => clock.ms);
    ownership.attach('c1');
    ownership.attach('c2');
    ownership.add('s1', 'c1', 'r1');
    expect(ownership.of('s1')).toEqual({ owner: 'c1', reservation: 'r1', unownedSinceMs: undefined });
    ownership.detach('c1');
    expect(ownership.of('s1')?.owner).toBe('');
    clock.ms = 3_000;
    expect(ownership.unownedFor(1_500)).toEqual(['s1']);
    expect(ownership.claim('s1', 'c2')).toBe(true);
    expect(ownership.claim('s1', 'c1')).toBe(false);
    expect(ownership.of('s1')).toEqual({ owner: 'c2', reservation: 'r1', unownedSinceMs: undefined });
  });

  it('keeps a controller\'s sandboxes while another of its streams is open', () => {
    const ownership = new SandboxOwnership();
    ownership.attach('c1');
    ownership.attach('c1');
    ownership.add('s1', 'c1', '');
    ownership.detach('c1');
    expect(ownership.of('s1')?.owner).toBe('c1');
  });

  it('makes a sandbox nobody\'s from the start when its controller is not attached, and refuses claims of detached controllers', () => {
    const ownership = new SandboxOwnership();
    ownership.add('s1', 'gone', '');
    expect(ownership.of('s1')?.owner).toBe('');
    expect(ownership.claim('s1', 'never-attached')).toBe(false);
  });

  it('tells its listeners of every change of the set or of an owner', () => {
    const ownership = new SandboxOwnership();
    let changes = 0;
    ownership.onChange(() => changes++);
    ownership.attach('c1');
    ownership.add('s1', 'c1', '');
    ownership.detach('c1');
    ownership.remove('s1');
    expect(changes).toBe(3);
  });
});
