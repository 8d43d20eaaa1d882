import { describe, expect, it } from 'vitest';
import { KnownFunctions } from './known-functions.js';

describe('KnownFunctions', () => {
  it('asks once within the time to live, again after it or after forget, and never keeps a miss', async () => {
    let now = 0;
    const asked: string[] = [];
    const known = new KnownFunctions(async (name) => {
      asked.push(name);
      if (name === 'missing') throw Object.assign(new Error('no'), { code: 'function_not_found' });
    }, 1_000, () => now);
    await known.assertExists('echo');
    await known.assertExists('echo');
    expect(asked).toEqual(['echo']);
    now = 1_000;
    await known.assertExists('echo');
    known.forget('echo');
    await known.assertExists('echo');
    expect(asked).toEqual(['echo', 'echo', 'echo']);
    await expect(known.assertExists('missing')).rejects.toMatchObject({ code: 'function_not_found' });
    await expect(known.assertExists('missing')).rejects.toMatchObject({ code: 'function_not_found' });
    expect(asked.filter((name) => name === 'missing')).toHaveLength(2);
  });

  it('forgets every version and alias of a function, and no other function', async () => {
    const asked: string[] = [];
    const known = new KnownFunctions(async (target) => void asked.push(target), 60_000, () => 0);
    for (const target of ['echo', 'echo:3', 'echo:live', 'echoes']) await known.assertExists(target);
    known.forget('echo');
    for (const target of ['echo', 'echo:3', 'echo:live', 'echoes']) await known.assertExists(target);
    expect(asked).toEqual(['echo', 'echo:3', 'echo:live', 'echoes', 'echo', 'echo:3', 'echo:live']);
  });
});
