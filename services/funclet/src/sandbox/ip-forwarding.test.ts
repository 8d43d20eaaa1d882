import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpForwarding } from './ip-forwarding.js';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fake /proc/sys/net/ipv4 that behaves as the kernel's: writing
 * ip_forward rewrites every interface's and the default's forwarding.
 * Writes go through `kernelWrite`, reads are plain files.
 */
function fakeHost(initial: { ipForward: string; interfaces: Record<string, string> }) {
  const root = mkdtempSync(join(tmpdir(), 'ip-forwarding-'));
  scratch.push(root);
  const sysctl = join(root, 'sys');
  mkdirSync(join(sysctl, 'conf', 'all'), { recursive: true });
  writeFileSync(join(sysctl, 'ip_forward'), `${initial.ipForward}\n`);
  for (const [name, value] of Object.entries(initial.interfaces)) {
    mkdirSync(join(sysctl, 'conf', name), { recursive: true });
    writeFileSync(join(sysctl, 'conf', name, 'forwarding'), `${value}\n`);
  }
  symlinkSync('net:[4026531999]', join(root, 'netns'));
  const settings = () =>
    Object.fromEntries([
      ['ip_forward', readFileSync(join(sysctl, 'ip_forward'), 'utf8').trim()],
      ...readdirSync(join(sysctl, 'conf'))
        .filter((name) => name !== 'all')
        .map((name) => [name, readFileSync(join(sysctl, 'conf', name, 'forwarding'), 'utf8').trim()]),
    ]);
  const forwarding = (holder: string) =>
    new IpForwarding({ holder, registryRoot: join(root, 'registry'), sysctlRoot: sysctl, namespaceLink: join(root, 'netns') });
  return { root, sysctl, settings, forwarding };
}

describe('IpForwarding', () => {
  it('turns forwarding on while anybody holds it, and puts back exactly what was there after the last', async () => {
    const host = fakeHost({ ipForward: '0', interfaces: { default: '0', eth0: '0', eth1: '1' } });
    const before = host.settings();
    const a = host.forwarding('funclet-a');
    const b = host.forwarding('funclet-b');
    await a.hold();
    expect(host.settings().ip_forward).toBe('1');
    // What the kernel does when ip_forward is written.
    for (const name of ['default', 'eth0', 'eth1']) writeFileSync(join(host.sysctl, 'conf', name, 'forwarding'), '1');
    await b.hold();
    await a.release();
    expect(host.settings().ip_forward, 'b still needs it').toBe('1');
    await b.release();
    expect(host.settings()).toEqual(before);
    expect(readdirSync(join(host.root, 'registry', '4026531999'))).toEqual(['holders']);
  });

  it('leaves a host that forwarded already as it was', async () => {
    const host = fakeHost({ ipForward: '1', interfaces: { default: '1', eth0: '1' } });
    const a = host.forwarding('funclet-a');
    await a.hold();
    await a.release();
    expect(host.settings()).toEqual({ ip_forward: '1', default: '1', eth0: '1' });
  });

  it('does not count a holder that died without releasing (kill -9)', async () => {
    const host = fakeHost({ ipForward: '0', interfaces: { default: '0' } });
    await host.forwarding('killed').hold();
    // The killed funclet's holder file names a process that is gone.
    const gone = spawnSync('true').pid!;
    writeFileSync(join(host.root, 'registry', '4026531999', 'holders', 'killed'), `${gone}:1`);
    await host.forwarding('its-successor').release();
    expect(host.settings().ip_forward).toBe('0');
  });

  it('takes over a lock whose owner died', async () => {
    const host = fakeHost({ ipForward: '0', interfaces: {} });
    const lock = join(host.root, 'registry', '4026531999', 'lock');
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'owner'), `${spawnSync('true').pid!}:1`);
    await host.forwarding('a').hold();
    expect(host.settings().ip_forward).toBe('1');
  });
});
