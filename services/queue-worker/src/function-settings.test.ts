import { describe, expect, it } from 'vitest';
import { FunctionConfigSchema, create, type FunctionConfig } from '@faas/protocol';
import { NoticeCache } from '@faas/redis';
import { CachedFunctionSettings, settingsFrom } from './function-settings.js';

const defaults = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 300_000, retryFunctionErrors: false };

describe('function settings', () => {
  it('take the function\'s policy where it gives one, the defaults elsewhere', () => {
    const config = create(FunctionConfigSchema, { maxConcurrency: 7, callbackSecret: 's', asyncPolicy: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0, retryFunctionErrors: true } });
    expect(settingsFrom(config, defaults)).toEqual({ retry: { maxAttempts: 2, baseDelayMs: 1_000, maxDelayMs: 300_000, retryFunctionErrors: true }, callbackSecret: 's', maxConcurrency: 7 });
    expect(settingsFrom(create(FunctionConfigSchema, {}), defaults).retry).toEqual(defaults);
  });

  it('ask stubs once for calls that miss together', async () => {
    let loads = 0;
    let release: () => void = () => undefined;
    const source = new CachedFunctionSettings(
      async (name) => {
        loads++;
        await new Promise<void>((resolve) => (release = resolve));
        return create(FunctionConfigSchema, { name, maxConcurrency: 3 });
      },
      new NoticeCache<FunctionConfig>({ ttlMs: 0 }),
      defaults,
    );
    const calls = Array.from({ length: 10 }, () => source.settingsOf('echo'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    release();
    const settings = await Promise.all(calls);
    expect(loads).toBe(1);
    expect(settings.every((entry) => entry.maxConcurrency === 3)).toBe(true);
  });
});
