import { describe, expect, it } from 'vitest';
import { createLogger } from '@faas/telemetry';
import { NetnsPool, parseLinkNames, scrubCommands, type EgressProvider } from './netns-pool.js';

const silent = createLogger('funclet-test', 'silent');

const LINKS = [
  '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
  '2: eth0@if40: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 0a:1b:2c:3d:4e:5f brd ff:ff:ff:ff:ff:ff link-netnsid 0',
  '3: dummy9: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ether 1e:2d:3c:4b:5a:69 brd ff:ff:ff:ff:ff:ff',
].join('\n');

const egress = { hostInterface: 'fvabc123x2', addressCidr: '10.240.7.2/24', gateway: '10.240.7.1' };

/** Records every command; answers `ip -o link show` with the links given. */
function fakeHost(links = '1: lo: <LOOPBACK> mtu 65536\n') {
  const commands: string[] = [];
  const history: string[] = [];
  const run = async (file: string, args: readonly string[]) => {
    commands.push(`${file} ${args.join(' ')}`);
    history.push(`${file} ${args.join(' ')}`);
    return args.includes('-o') ? links : '';
  };
  return { commands, history, run };
}

describe('network namespace scrubbing', () => {
  it('reads interface names from ip -o link', () => {
    expect(parseLinkNames(LINKS)).toEqual(['lo', 'eth0', 'dummy9']);
  });

  it('deletes foreign interfaces and resets loopback in a plain namespace', () => {
    const commands = scrubCommands({ name: 'faas-f1-net3', path: '/run/netns/faas-f1-net3' }, ['lo', 'eth0', 'dummy9']).map((c) => c.join(' '));
    expect(commands).toEqual([
      '-n faas-f1-net3 link del eth0',
      '-n faas-f1-net3 link del dummy9',
      '-n faas-f1-net3 link set lo down',
      '-n faas-f1-net3 addr flush dev lo',
      '-n faas-f1-net3 link set lo up',
    ]);
  });

  it('keeps an egress namespace\'s eth0 but puts its address and default route back exactly', () => {
    const commands = scrubCommands({ name: 'faas-f1-net4', path: '/run/netns/faas-f1-net4', egress }, ['lo', 'eth0', 'dummy9']).map((c) => c.join(' '));
    expect(commands).not.toContain('-n faas-f1-net4 link del eth0');
    expect(commands).toContain('-n faas-f1-net4 link del dummy9');
    expect(commands.slice(-5)).toEqual([
      '-n faas-f1-net4 addr flush dev eth0',
      '-n faas-f1-net4 route flush table main',
      '-n faas-f1-net4 addr add 10.240.7.2/24 dev eth0',
      '-n faas-f1-net4 link set eth0 up',
      '-n faas-f1-net4 route add default via 10.240.7.1',
    ]);
  });
});

describe('NetnsPool', () => {
  it('prepares namespaces ahead, hands them out without creating one, and reuses released ones after scrubbing', async () => {
    const host = fakeHost();
    const pool = new NetnsPool({ funcletId: 'f1', run: host.run, log: silent, spare: 2, generation: '' });
    await pool.start();
    expect(host.commands).toEqual(['ip netns add faas-f1-net-1', 'ip -n faas-f1-net-1 link set lo up', 'ip netns add faas-f1-net-2', 'ip -n faas-f1-net-2 link set lo up']);
    host.commands.length = 0;

    const first = await pool.acquire();
    expect(first).toEqual({ name: 'faas-f1-net-1', path: '/run/netns/faas-f1-net-1', egress: undefined });
    // Taken from the free list: the request itself ran no command.
    expect(host.commands.filter((c) => c.startsWith('ip netns add faas-f1-net-1'))).toEqual([]);

    await pool.release(first);
    expect(host.commands).toContain('ip -n faas-f1-net-1 link set lo down');
    expect(host.commands.filter((c) => c.includes('netns del'))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const names = [(await pool.acquire()).name, (await pool.acquire()).name, (await pool.acquire()).name];
    expect(names).toContain('faas-f1-net-1');

    await pool.destroyAll();
    const created = host.history.filter((c) => c.startsWith('ip netns add')).map((c) => c.split(' ').at(-1)).sort();
    const deleted = host.history.filter((c) => c.startsWith('ip netns del')).map((c) => c.split(' ').at(-1)).sort();
    expect(deleted).toEqual(created);
    expect(pool.total).toBe(0);
  });

  it('deletes a namespace that will not scrub instead of handing it out again', async () => {
    const host = fakeHost();
    const failing = async (file: string, args: readonly string[]) => {
      if (args.includes('down')) throw new Error('RTNETLINK answers: Operation not permitted');
      return host.run(file, args);
    };
    const pool = new NetnsPool({ funcletId: 'f2', run: failing, log: silent, spare: 1, generation: '' });
    await pool.start();
    const namespace = await pool.acquire();
    await pool.release(namespace);
    expect(host.commands).toContain(`ip netns del ${namespace.name}`);
    await pool.destroyAll();
  });

  it('prepares egress namespaces with a veth on the bridge, only once an egress function asked', async () => {
    const host = fakeHost();
    let readied = 0;
    let running = 0;
    const provider: EgressProvider = {
      ensureReady: async () => {
        readied += 1;
      },
      retain: async () => void (running += 1),
      unretain: async () => void (running -= 1),
      allocate: () => egress,
      attachCommands: (attachment) => [['link', 'set', attachment.hostInterface, 'master', 'fbtest']],
      release: () => {},
    };
    const pool = new NetnsPool({ funcletId: 'f3', run: host.run, log: silent, spare: 0, egress: provider, egressSpare: 1, generation: 'g' });
    await pool.start();
    expect(host.commands).toEqual([]);
    const namespace = await pool.acquire(true);
    expect(readied).toBe(1);
    expect(namespace.egress).toEqual(egress);
    expect(host.commands).toContain(`ip link add fvabc123x2 type veth peer name eth0 netns ${namespace.name}`);
    expect(host.commands).toContain(`ip -n ${namespace.name} route add default via 10.240.7.1`);
    expect(host.commands).toContain('ip link set fvabc123x2 master fbtest');
    // Forwarding is held for exactly as long as the sandbox uses the namespace.
    expect(running).toBe(1);
    await pool.release(namespace);
    expect(running).toBe(0);
    await pool.destroyAll();
  });

  it('finds and deletes the namespaces a killed funclet left, and only its own', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'netns-'));
    for (const name of ['faas-f4-net1', 'faas-f4-net9', 'faas-f44-net1', 'other']) await writeFile(join(dir, name), '');
    const host = fakeHost();
    expect((await NetnsPool.removeOrphans('f4', host.run, dir)).sort()).toEqual(['faas-f4-net1', 'faas-f4-net9']);
    expect(host.commands.sort()).toEqual(['ip netns del faas-f4-net1', 'ip netns del faas-f4-net9']);
    await rm(dir, { recursive: true });
  });
});
