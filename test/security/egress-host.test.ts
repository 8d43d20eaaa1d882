// Egress leaves the host as it found it: forwarding on only while an egress
// sandbox runs, the host's forwarding settings and firewall exactly as
// before once it is gone, and a resolver for egress sandboxes (the host's)
// and none for the others. The "host" is a network namespace of its own
// (egress-world.mjs), so that its settings can start from forwarding off
// without touching the machine's, which other tests and platforms share.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const WORLD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'egress-world.mjs');

let world: any;

beforeAll(() => {
  const output = execFileSync('unshare', ['--net', '--mount', '--fork', process.execPath, WORLD], {
    encoding: 'utf8',
    timeout: 150_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  world = JSON.parse(output.trim().split('\n').at(-1)!);
}, 180_000);

describe('egress and the host', () => {
  it('reaches the outside by name, through the host resolver it was given', () => {
    expect(world.egress).toEqual({ resolv: world.resolvConf, address: '10.251.0.2', body: 'outside says hi' });
  });

  it('gives a function without egress no resolver and no way out', () => {
    expect(world.closed.resolv).toEqual({ error: 'ENOENT' });
    expect(world.closed.body).toHaveProperty('error');
  });

  it('forwards only while an egress sandbox runs, and puts back every forwarding setting after the last', () => {
    expect(world.before.forwarding).toMatchObject({ ip_forward: '0', lo: '1' });
    expect(world.during.forwarding.ip_forward).toBe('1');
    // The bridge and the spare egress namespace's veth are still there while the platform runs; the host's own interfaces are as before.
    const hostOwn = Object.fromEntries(Object.keys(world.before.forwarding).map((name) => [name, world.afterLastEgress.forwarding[name]]));
    expect(hostOwn).toEqual(world.before.forwarding);
    expect(world.after.forwarding).toEqual(world.before.forwarding);
  });

  it('removes every firewall rule and the bridge it added when it stops', () => {
    expect(world.during.firewall).not.toEqual(world.before.firewall);
    expect(world.during.firewall).toMatch(/MASQUERADE/);
    expect(world.during.bridges).not.toBe('');
    expect(world.after.firewall).toEqual(world.before.firewall);
    expect(world.after.bridges).toBe(world.before.bridges);
  });
});
