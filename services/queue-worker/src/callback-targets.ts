import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Which callback URLs the worker will POST to. A callback is a request the
 * platform makes on a caller's behalf from inside its own network, so it
 * must not reach the platform's own ports (NATS, Redis, the services) or a
 * cloud metadata endpoint: the host is resolved and every address checked,
 * so a DNS name pointing at loopback is caught too.
 *
 * Patterns (allow and deny lists): `*` (any host), `host`, `host:port`,
 * `*.domain`, an IP, `ip:port`, or a CIDR block (`10.0.0.0/8`).
 */
export interface CallbackTargetRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** Always refused: link-local (cloud metadata at 169.254.169.254) and unspecified addresses. */
const ALWAYS_DENIED_CIDRS = ['169.254.0.0/16', '0.0.0.0/8', 'fe80::/10'];

type Pattern =
  | { readonly kind: 'any' }
  | { readonly kind: 'host'; readonly host: string; readonly port?: number }
  | { readonly kind: 'suffix'; readonly suffix: string; readonly port?: number }
  | { readonly kind: 'cidr'; readonly list: BlockList };

export type TargetVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export class CallbackTargets {
  private readonly allow: Pattern[];
  private readonly deny: Pattern[];

  constructor(
    rules: CallbackTargetRules,
    private readonly resolve: (host: string) => Promise<string[]> = resolveAll,
  ) {
    this.allow = rules.allow.map(parsePattern);
    this.deny = [...ALWAYS_DENIED_CIDRS, ...rules.deny].map(parsePattern);
  }

  async check(rawUrl: string): Promise<TargetVerdict> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return { allowed: false, reason: 'not a URL' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { allowed: false, reason: 'only http and https callbacks are made' };
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (!this.allow.some((pattern) => matchesName(pattern, host, port) || (isIP(host) !== 0 && matchesAddress(pattern, host, port)))) {
      return { allowed: false, reason: `${host}:${port} is not on the callback allow-list` };
    }
    if (this.deny.some((pattern) => matchesName(pattern, host, port))) return { allowed: false, reason: `${host}:${port} is denied: one of the platform's own endpoints, or on QUEUE_WORKER_CALLBACK_DENY` };
    let addresses: string[];
    try {
      addresses = isIP(host) !== 0 ? [host] : await this.resolve(host);
    } catch (error) {
      return { allowed: false, reason: `cannot resolve ${host}: ${(error as Error).message}` };
    }
    for (const address of addresses) {
      if (this.deny.some((pattern) => matchesAddress(pattern, address, port))) {
        return { allowed: false, reason: `${host}:${port} (${address}) is one of the platform's own endpoints or otherwise denied` };
      }
    }
    return { allowed: true };
  }
}

/**
 * The deny-list entries for the platform's own endpoints, from the URLs and
 * host:port addresses the worker is configured with. Loopback hosts are
 * denied under every loopback spelling.
 */
export function platformEndpoints(urlsOrAddresses: readonly string[]): string[] {
  const entries = new Set<string>();
  for (const value of urlsOrAddresses) {
    const { host, port } = hostAndPort(value);
    if (!host || !port) continue;
    const hosts = isLoopback(host) ? ['127.0.0.1', '::1', 'localhost'] : [host];
    for (const each of hosts) entries.add(isIP(each) === 6 ? `[${each}]:${port}` : `${each}:${port}`);
  }
  return [...entries];
}

function hostAndPort(value: string): { host?: string; port?: number } {
  try {
    const url = new URL(value.includes('://') ? value : `tcp://${value}`);
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = Number(url.port);
    return { host, port: Number.isInteger(port) && port > 0 ? port : undefined };
  } catch {
    return {};
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === '0.0.0.0';
}

function parsePattern(raw: string): Pattern {
  const text = raw.trim().toLowerCase();
  if (text === '*') return { kind: 'any' };
  if (text.includes('/')) {
    const [network, bits] = text.split('/');
    const list = new BlockList();
    const family = isIP(network ?? '') === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(network ?? '', Number(bits), family);
    return { kind: 'cidr', list };
  }
  const { host, port } = splitHostPort(text);
  if (host.startsWith('*.')) return { kind: 'suffix', suffix: host.slice(1), port };
  return { kind: 'host', host, port };
}

function splitHostPort(text: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : undefined };
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = text.split(':');
    return { host: host!, port: Number(port) };
  }
  return { host: text };
}

function matchesName(pattern: Pattern, host: string, port: number): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'host':
      return pattern.host === host && (pattern.port === undefined || pattern.port === port);
    case 'suffix':
      return host.endsWith(pattern.suffix) && (pattern.port === undefined || pattern.port === port);
    case 'cidr':
      return false;
  }
}

function matchesAddress(pattern: Pattern, address: string, port: number): boolean {
  if (pattern.kind === 'cidr') return pattern.list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  if (pattern.kind === 'host') return sameAddress(pattern.host, address) && (pattern.port === undefined || pattern.port === port);
  return pattern.kind === 'any';
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  // "localhost" in a pattern stands for every loopback address it resolves to.
  return a === 'localhost' && (b === '::1' || b.startsWith('127.'));
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((entry) => entry.address);
}
