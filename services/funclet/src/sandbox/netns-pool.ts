/**
 * Named network namespaces (/run/netns/faas-<funcletId>-net<generation>-<n>) made ahead
 * of time, joined by containers by path, scrubbed and reused when their
 * sandbox goes. Creating one costs about 2 ms and deleting one about 26 ms
 * here, so neither happens while a request waits: the free list refills in
 * the background, and namespaces are deleted only at start (orphans of a
 * killed funclet) and at shutdown.
 *
 * A plain namespace has only `lo`. An egress namespace (see egress-network.ts)
 * also has `eth0`, one end of a veth pair whose other end sits on the
 * funclet's bridge, with an address and a default route; it is prepared with
 * its veth and kept on a free list of its own.
 */
import { readdir } from 'node:fs/promises';
import type { Logger } from '@faas/telemetry';
import type { HostCommand } from './host-command.js';

export const NETNS_DIR = '/run/netns';

export interface EgressAttachment {
  /** Host-side veth name (≤ 15 characters). */
  readonly hostInterface: string;
  /** e.g. 10.240.7.23/24 */
  readonly addressCidr: string;
  readonly gateway: string;
}

/** Gives egress namespaces their veth, address and route, and takes them back. */
export interface EgressProvider {
  /** Sets up the bridge and firewall once; later calls return at once. */
  ensureReady(): Promise<void>;
  /** A sandbox is about to use an egress namespace: the host forwards its traffic once this resolves. */
  retain(): Promise<void>;
  /** That sandbox is gone. */
  unretain(): Promise<void>;
  allocate(index: number): EgressAttachment;
  /** Attaches the host end to the bridge (isolated port). */
  attachCommands(attachment: EgressAttachment): Array<readonly string[]>;
  release(attachment: EgressAttachment): void;
}

export interface NetworkNamespace {
  readonly name: string;
  /** What an OCI spec's network namespace `path` gets. */
  readonly path: string;
  readonly egress?: EgressAttachment;
}

export interface NetnsPoolOptions {
  readonly funcletId: string;
  readonly run: HostCommand;
  readonly log: Logger;
  /** Plain namespaces kept free. */
  readonly spare: number;
  readonly egress?: EgressProvider;
  /** Egress namespaces kept free once the first egress function appeared. */
  readonly egressSpare?: number;
  /** Part of every name, unique to this process (random by default). */
  readonly generation?: string;
}

export function netnsPrefix(funcletId: string): string {
  return `faas-${funcletId}-net`;
}

/** `ip -o link show` lines → interface names (without the @peer suffix). */
export function parseLinkNames(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split('\n')) {
    const match = /^\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:/.exec(line);
    if (match) names.push(match[1]!);
  }
  return names;
}

/**
 * Everything to run (as `ip` argument lists) to bring a used namespace back
 * to how it was prepared: foreign interfaces deleted, loopback reset (taking
 * it down drops its addresses and routes; bringing it up restores 127.0.0.1
 * and ::1), and, for an egress namespace, eth0's address and default route
 * put back exactly.
 */
export function scrubCommands(namespace: NetworkNamespace, linkNames: readonly string[]): Array<readonly string[]> {
  const ns = namespace.name;
  const keep = new Set(['lo', ...(namespace.egress ? ['eth0'] : [])]);
  const commands: Array<readonly string[]> = [];
  for (const link of linkNames) if (!keep.has(link)) commands.push(['-n', ns, 'link', 'del', link]);
  commands.push(['-n', ns, 'link', 'set', 'lo', 'down'], ['-n', ns, 'addr', 'flush', 'dev', 'lo'], ['-n', ns, 'link', 'set', 'lo', 'up']);
  if (namespace.egress) {
    commands.push(['-n', ns, 'addr', 'flush', 'dev', 'eth0'], ['-n', ns, 'route', 'flush', 'table', 'main']);
    commands.push(...egressSetupCommands(ns, namespace.egress, false));
  }
  return commands;
}

/** Address and default route inside the namespace (and the veth itself when `createVeth`). */
export function egressSetupCommands(ns: string, egress: EgressAttachment, createVeth: boolean): Array<readonly string[]> {
  const commands: Array<readonly string[]> = [];
  if (createVeth) commands.push(['link', 'add', egress.hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  commands.push(
    ['-n', ns, 'addr', 'add', egress.addressCidr, 'dev', 'eth0'],
    ['-n', ns, 'link', 'set', 'eth0', 'up'],
    ['-n', ns, 'route', 'add', 'default', 'via', egress.gateway],
  );
  return commands;
}

export class NetnsPool {
  private readonly free: NetworkNamespace[] = [];
  private readonly freeEgress: NetworkNamespace[] = [];
  private readonly all = new Map<string, NetworkNamespace>();
  private counter = 0;
  /** Distinguishes this process's namespaces from a killed predecessor's with the same funclet id. */
  private readonly generation = Math.random().toString(36).slice(2, 6);
  private refilling?: Promise<void>;
  private egressWanted = false;
  private closed = false;

  constructor(private readonly options: NetnsPoolOptions) {}

  get freeCount(): number {
    return this.free.length;
  }

  get total(): number {
    return this.all.size;
  }

  /** Fills the free list once; later refills run in the background. */
  async start(): Promise<void> {
    this.refill();
    await this.refilling;
  }

  /**
   * A namespace for a new sandbox: a free one when there is one (the normal
   * case, no syscall), else one made now (the free list ran dry).
   */
  async acquire(egress = false): Promise<NetworkNamespace> {
    if (egress) {
      if (!this.options.egress) throw new Error('this funclet has no egress network');
      this.egressWanted = true;
      await this.options.egress.ensureReady();
    }
    const list = egress ? this.freeEgress : this.free;
    const namespace = list.shift() ?? (await this.create(egress));
    this.refill();
    if (egress) await this.options.egress!.retain();
    return namespace;
  }

  /** Scrubs a namespace its sandbox no longer uses and puts it back on its free list. */
  async release(namespace: NetworkNamespace): Promise<void> {
    if (namespace.egress) await this.options.egress?.unretain();
    if (this.closed || !this.all.has(namespace.name)) return;
    try {
      const links = parseLinkNames(await this.options.run('ip', ['-n', namespace.name, '-o', 'link', 'show']));
      for (const command of scrubCommands(namespace, links)) await this.options.run('ip', command);
      if (this.closed) return;
      (namespace.egress ? this.freeEgress : this.free).push(namespace);
    } catch (error) {
      // A namespace that will not come clean is not handed out again.
      this.options.log.warn({ netns: namespace.name, err: error }, 'cannot scrub a network namespace; deleting it');
      await this.remove(namespace);
    }
  }

  /** Deletes every namespace of this pool (shutdown). */
  async destroyAll(): Promise<void> {
    this.closed = true;
    await this.refilling;
    for (const namespace of [...this.all.values()]) await this.remove(namespace);
    this.free.length = 0;
    this.freeEgress.length = 0;
  }

  /** Deletes namespaces a previous process with this funclet id left (kill -9). */
  static async removeOrphans(funcletId: string, run: HostCommand, netnsDir = NETNS_DIR): Promise<string[]> {
    const prefix = netnsPrefix(funcletId);
    const names = (await readdir(netnsDir).catch(() => [] as string[])).filter((name) => name.startsWith(prefix));
    for (const name of names) await run('ip', ['netns', 'del', name]).catch(() => {});
    return names;
  }

  private refill(): void {
    if (this.refilling || this.closed) return;
    this.refilling = (async () => {
      try {
        while (!this.closed && this.free.length < this.options.spare) this.free.push(await this.create(false));
        const egressSpare = this.options.egressSpare ?? 1;
        while (!this.closed && this.egressWanted && this.freeEgress.length < egressSpare) this.freeEgress.push(await this.create(true));
      } catch (error) {
        this.options.log.warn({ err: error }, 'cannot prepare a network namespace');
      } finally {
        this.refilling = undefined;
      }
    })();
  }

  private async create(egress: boolean): Promise<NetworkNamespace> {
    const index = ++this.counter;
    const name = `${netnsPrefix(this.options.funcletId)}${this.options.generation ?? this.generation}-${index}`;
    const { run } = this.options;
    await run('ip', ['netns', 'add', name]);
    const namespace: NetworkNamespace = {
      name,
      path: `${NETNS_DIR}/${name}`,
      egress: egress ? this.options.egress!.allocate(index) : undefined,
    };
    this.all.set(name, namespace);
    try {
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      if (namespace.egress) {
        for (const command of egressSetupCommands(name, namespace.egress, true)) await run('ip', command);
        for (const command of this.options.egress!.attachCommands(namespace.egress)) await run('ip', command);
      }
    } catch (error) {
      await this.remove(namespace);
      throw error;
    }
    return namespace;
  }

  private async remove(namespace: NetworkNamespace): Promise<void> {
    this.all.delete(namespace.name);
    // Deleting the namespace deletes eth0 and so its host-side peer.
    await this.options.run('ip', ['netns', 'del', namespace.name]).catch((error: unknown) =>
      this.options.log.warn({ netns: namespace.name, err: error }, 'cannot delete a network namespace'),
    );
    if (namespace.egress) this.options.egress?.release(namespace.egress);
  }
}
