import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@faas/telemetry';
import { MountHelper } from './mount-helper.js';

const silent = createLogger('funclet-test', 'silent');

describe('MountHelper', () => {
  it('falls back to mount(8) and umount(8) when python3 cannot run, naming the layers from their folder', async () => {
    const commands: string[] = [];
    const helper = await MountHelper.start('/nonexistent/python3', async (file, args, options) => {
      commands.push(`${options?.cwd ? `(in ${options.cwd}) ` : ''}${[file, ...args].join(' ')}`);
      return '';
    }, silent);
    await helper.view('/srv/code/abc', '/srv/sandboxes/1/code');
    await helper.detach('/srv/sandboxes/1/code');
    expect(commands).toEqual([
      '(in /srv/code) mount -t overlay overlay -o ro,nosuid,nodev,lowerdir=abc:.empty-layer /srv/sandboxes/1/code',
      'umount -l /srv/sandboxes/1/code',
    ]);
    helper.stop();
  });

  it('refuses a folder whose name an overlay option cannot carry', async () => {
    const helper = await MountHelper.start('/nonexistent/python3', async () => '', silent);
    await expect(helper.view('/srv/code/a,b', '/srv/x')).rejects.toThrow(/overlay options/);
    helper.stop();
  });

  it.skipIf(!existsSync('/usr/bin/python3'))('answers each request through the helper, failures with the reason', async () => {
    const helper = await MountHelper.start('/usr/bin/python3', async () => {
      throw new Error('the helper should have answered');
    }, silent);
    const missing = '/nonexistent/faas-mount-helper-test';
    const results = await Promise.allSettled([helper.view(`${missing}/a`, `${missing}/b`), helper.detach(`${missing}/c`)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/view .*nonexistent.* \(2\)/);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/detach .*\/c: /);
    helper.stop();
  });
});
