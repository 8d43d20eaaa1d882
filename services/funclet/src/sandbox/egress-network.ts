/**
 * Outbound network for the functions that ask for it: a bridge per funclet
 * (fb<hash>) with a /24 out of 10.240.0.0/16 that no route on the host uses
 * yet, one veth per egress namespace on it, and NAT for what leaves the host.
 *
 * Containment, in this order of importance:
 * - sandboxes cannot reach each other: every veth is an *isolated* bridge
 *   port (the bridge forwards nothing between isolated ports), and forwarded
 *   traffic from any funclet bridge to 10.240.0.0/16 is dropped;
 * - sandboxes cannot reach the host itself (any of its addresses and ports,
 *   the platform's gRPC ports included): INPUT from the bridge is dropped
 *   unless it answers a connection the host opened;
 * - nobody outside can open a connection into a sandbox.
 *
 * Set up lazily when the first egress function appears (a one-time cost of
 * some tens of ms); torn down at shutdown and at start, found by name alone
 * so a funclet killed with -9 leaves nothing: every rule it added goes.
 * Forwarding (net.ipv4.ip_forward) is on only while egress sandboxes run,
 * and the host's settings are put back after the last (ip-forwarding.ts).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@faas/telemetry';
import type { HostCommand } from './host-command.js';
import { IpForwarding } from './ip-forwarding.js';
import type { EgressAttachment, EgressProvider } from './netns-pool.js';

export const EGRESS_SUPERNET = '10.240.0.0/16';

export interface EgressNames {
  readonly bridge: string;
  readonly vethPrefix: string;
  readonly inputChain: string;
  readonly forwardChain: string;
  readonly natChain: string;
}

export function egressNames(funcletId: string): EgressNames {
  const hash = createHash('sha256').update(funcletId).digest('hex');
  return {
    bridge: `fb${hash.slice(0, 10)}`,
    vethPrefix: `fv${hash.slice(0, 6)}x`,
    inputChain: `FAAS-${hash.slice(0, 10)}-IN`,
    forwardChain: `FAAS-${hash.slice(0, 10)}-FWD`,
    natChain: `FAAS-${hash.slice(0, 10)}-NAT`,
  };
}

/** The first 10.240.X.0/24 (from a hash-chosen start) that `usedText` (ip route / ip addr output) does not mention. */
export function pickSubnet(funcletId: string, usedText: string): number {
  const start = createHash('sha256').update(`subnet:${funcletId}`).digest()[0]!;
  for (let step = 0; step < 256; step++) {
    const third = (start + step) % 256;
    if (!new RegExp(`\\b10\\.240\\.${third}\\.`).test(usedText)) return third;
  }
  throw new Error('no free /24 left in 10.240.0.0/16');
}

/** iptables argument lists that install the firewall (filter and nat tables). */
export function firewallCommands(names: EgressNames, subnet: string): Array<readonly string[]> {
  const { bridge, inputChain, forwardChain, natChain } = names;
  return [
    ['-w', '-N', inputChain],
    ['-w', '-A', inputChain, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ['-w', '-A', inputChain, '-j', 'DROP'],
    ['-w', '-I', 'INPUT', '1', '-i', bridge, '-j', inputChain],
    ['-w', '-N', forwardChain],
    ['-w', '-A', forwardChain, '-i', bridge, '-d', EGRESS_SUPERNET, '-j', 'DROP'],
    ['-w', '-A', forwardChain, '-i', bridge, '-j', 'ACCEPT'],
    ['-w', '-A', forwardChain, '-o', bridge, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ['-w', '-A', forwardChain, '-o', bridge, '-j', 'DROP'],
    ['-w', '-I', 'FORWARD', '1', '-i', bridge, '-j', forwardChain],
    ['-w', '-I', 'FORWARD', '1', '-o', bridge, '-j', forwardChain],
    ['-w', '-t', 'nat', '-N', natChain],
    ['-w', '-t', 'nat', '-A', natChain, '!', '-o', bridge, '-j', 'MASQUERADE'],
    ['-w', '-t', 'nat', '-I', 'POSTROUTING', '1', '-s', subnet, '-j', natChain],
  ];
}

/** From `iptables -S <chain>` output, the `-D` argument lists for rules jumping to `target`. */
export function jumpDeletions(listing: string, target: string): Array<readonly string[]> {
  const deletions: Array<readonly string[]> = [];
  for (const line of listing.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] !== '-A' || parts.at(-1) !== target || parts.at(-2) !== '-j') continue;
    deletions.push(['-D', ...parts.slice(1)]);
  }
  return deletions;
}

export class EgressNetwork implements EgressProvider {
  readonly names: EgressNames;
  private ready?: Promise<void>;
  private subnetThird = -1;
  private readonly usedSlots = new Set<number>();
  /** Egress sandboxes running now: forwarding is held while there is one. */
  private running = 0;
  /** Holding and releasing forwarding, one change at a time. */
  private forwardingChange: Promise<void> = Promise.resolve();

  constructor(
    private readonly funcletId: string,
    private readonly run: HostCommand,
    private readonly log: Logger,
    private readonly forwarding = new IpForwarding({ holder: funcletId }),
  ) {
    this.names = egressNames(funcletId);
  }

  /** An egress sandbox starts: forwarding is on before it returns. */
  retain(): Promise<void> {
    this.running += 1;
    if (this.running === 1) this.changeForwarding(() => this.forwarding.hold(), 'cannot turn forwarding on');
    return this.forwardingChange;
  }

  /** An egress sandbox is gone; after the last, the host's forwarding settings are put back. */
  unretain(): Promise<void> {
    this.running = Math.max(0, this.running - 1);
    if (this.running === 0) this.changeForwarding(() => this.forwarding.release(), 'cannot put forwarding back');
    return this.forwardingChange;
  }

  private changeForwarding(change: () => Promise<void>, failure: string): void {
    this.forwardingChange = this.forwardingChange.then(change).catch((error: unknown) => this.log.warn({ err: error }, failure));
  }

  get subnet(): string | undefined {
    return this.subnetThird >= 0 ? `10.240.${this.subnetThird}.0/24` : undefined;
  }

  ensureReady(): Promise<void> {
    this.ready ??= this.setUp().catch(async (error: unknown) => {
      this.ready = undefined;
      await this.removeNetwork().catch(() => {});
      throw error;
    });
    return this.ready;
  }

  allocate(): EgressAttachment {
    let slot = 2;
    while (this.usedSlots.has(slot)) slot += 1;
    if (slot > 254) throw new Error('the egress subnet is full');
    this.usedSlots.add(slot);
    return {
      hostInterface: `${this.names.vethPrefix}${slot}`,
      addressCidr: `10.240.${this.subnetThird}.${slot}/24`,
      gateway: `10.240.${this.subnetThird}.1`,
    };
  }

  attachCommands(attachment: EgressAttachment): Array<readonly string[]> {
    const host = attachment.hostInterface;
    return [
      ['link', 'set', host, 'master', this.names.bridge],
      ['link', 'set', 'dev', host, 'type', 'bridge_slave', 'isolated', 'on'],
      ['link', 'set', host, 'up'],
    ];
  }

  release(attachment: EgressAttachment): void {
    this.usedSlots.delete(Number(attachment.addressCidr.split('/')[0]!.split('.')[3]));
  }

  /** Gives up forwarding and removes the firewall rules and the bridge, if any (idempotent; shutdown and start). */
  async teardown(): Promise<void> {
    this.running = 0;
    // A predecessor killed with -9 may have held it too.
    this.changeForwarding(() => this.forwarding.release(), 'cannot put forwarding back');
    await this.forwardingChange;
    await this.removeNetwork();
    this.ready = undefined;
    this.subnetThird = -1;
  }

  private async removeNetwork(): Promise<void> {
    const { bridge, inputChain, forwardChain, natChain } = this.names;
    // Rules are only ever added after the bridge, so no bridge means no rules.
    // Asked of ip, not /sys/class/net: /sys shows the namespace it was mounted in, not necessarily ours.
    if (!(await this.run('ip', ['link', 'show', bridge]).then(() => true, () => false))) return;
    for (const [table, chain, target] of [
      ['filter', 'INPUT', inputChain],
      ['filter', 'FORWARD', forwardChain],
      ['nat', 'POSTROUTING', natChain],
    ] as const) {
      const listing = await this.run('iptables', ['-w', '-t', table, '-S', chain]).catch(() => '');
      for (const deletion of jumpDeletions(listing, target)) await this.run('iptables', ['-w', '-t', table, ...deletion]).catch(() => '');
      await this.run('iptables', ['-w', '-t', table, '-F', target]).catch(() => '');
      await this.run('iptables', ['-w', '-t', table, '-X', target]).catch(() => '');
    }
    await this.run('ip', ['link', 'del', bridge]).catch(() => '');
  }

  private async setUp(): Promise<void> {
    const started = performance.now();
    await this.removeNetwork();
    const used = `${await this.run('ip', ['-4', 'route', 'show', 'table', 'all'])}\n${await this.run('ip', ['-4', 'addr', 'show'])}`;
    this.subnetThird = pickSubnet(this.funcletId, used);
    const { bridge } = this.names;
    await this.run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await this.run('ip', ['addr', 'add', `10.240.${this.subnetThird}.1/24`, 'dev', bridge]);
    await this.run('ip', ['link', 'set', bridge, 'up']);
    for (const command of firewallCommands(this.names, this.subnet!)) await this.run('iptables', command);
    this.log.info({ bridge, subnet: this.subnet, ms: Math.round(performance.now() - started) }, 'egress network ready');
  }
}
