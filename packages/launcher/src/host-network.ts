/**
 * Separate "hosts" on one machine: a network namespace per funclet, each
 * joined by a veth pair to a bridge of ours in the root namespace. The
 * bridge's address is where the shared services listen (controllers,
 * stubs, NATS), so a funclet reaches them as it would across a LAN and is
 * reached at its own address, while its loopback is its own. Traffic stays
 * between the root namespace and namespaces made here. Root only.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NamespaceHost {
  /** Under /run/netns. */
  readonly namespace: string;
  /** The host's address on the bridge. */
  readonly address: string;
}

export interface HostNetwork {
  /** The root namespace's address on the bridge, where shared services listen. */
  readonly bridgeAddress: string;
  readonly hosts: readonly NamespaceHost[];
  /** Runs a command inside a host's namespace only (mounts and /sys stay the machine's, which the funclet's cgroups need). */
  commandIn(host: NamespaceHost, command: string, args: readonly string[]): { command: string; args: string[] };
  destroy(): Promise<void>;
}

/** 10.213.<subnet>.0/24; a free third octet is picked per network. */
const FIRST_OCTETS = '10.213';

/** Makes the bridge and `count` namespaces; `tag` (a few letters or digits) keeps names apart from other runs'. */
export async function createHostNetwork(count: number, tag: string): Promise<HostNetwork> {
  const short = tag.toLowerCase().replace(/[^a-z0-9]/g, '').slice(-6) || 'x';
  const bridge = `fbr${short}`;
  const subnet = await freeSubnet();
  const bridgeAddress = `${FIRST_OCTETS}.${subnet}.1`;
  const hosts: NamespaceHost[] = [];
  const made: Array<() => Promise<unknown>> = [];
  const destroy = async () => {
    for (const undo of made.reverse()) await undo().catch(() => {});
    made.length = 0;
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    made.push(() => ip('link', 'del', bridge));
    await ip('addr', 'add', `${bridgeAddress}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (let n = 1; n <= count; n++) {
      const namespace = `faas-${short}-h${n}`;
      const outside = `fv${short}${n}`;
      const inside = `fi${short}${n}`;
      const address = `${FIRST_OCTETS}.${subnet}.${10 + n}`;
      await ip('netns', 'add', namespace);
      made.push(() => ip('netns', 'del', namespace));
      await ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      made.push(() => ip('link', 'del', outside));
      await ip('link', 'set', inside, 'netns', namespace);
      await ip('link', 'set', outside, 'master', bridge, 'up');
      await ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', inside);
      await ip('-n', namespace, 'link', 'set', inside, 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      hosts.push({ namespace, address });
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    bridgeAddress,
    hosts,
    commandIn: (host, command, args) => ({ command: 'nsenter', args: [`--net=/run/netns/${host.namespace}`, '--', command, ...args] }),
    destroy,
  };
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** A third octet no interface of the machine uses yet under 10.213. */
async function freeSubnet(): Promise<number> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  const used = new Set([...stdout.matchAll(/inet 10\.213\.(\d+)\./g)].map((match) => Number(match[1])));
  const start = 1 + (process.pid % 250);
  for (let step = 0; step < 250; step++) {
    const candidate = 1 + ((start + step) % 250);
    if (!used.has(candidate)) return candidate;
  }
  throw new Error('no free 10.213.x.0/24 subnet for the test hosts');
}

/** Whether namespaces can be made here: root with the ip and nsenter tools. */
export function canMakeHostNetwork(): boolean {
  if (process.getuid?.() !== 0) return false;
  const path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  const found = (tool: string) => path.split(':').some((dir) => existsSync(`${dir}/${tool}`));
  return found('ip') && found('nsenter');
}
