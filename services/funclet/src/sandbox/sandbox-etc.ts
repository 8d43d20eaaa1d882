/**
 * The /etc every sandbox sees: written by the funclet, not bound from the
 * host. The host's /etc holds its identity (machine-id, hostname, hosts) and
 * its configuration (every world-readable file of every package); a
 * function needs almost none of it. What the runtimes do need:
 *
 * - passwd and group naming the sandbox user (getpwuid, Python's getpass,
 *   `ls -l`), root for the files the sandbox sees owned by root;
 * - hosts with localhost and the sandbox's own name; nsswitch.conf saying
 *   files first, then DNS;
 * - hostname (the sandbox's own);
 * - ssl/certs: the host's CA bundle and its hashed links, so TLS trusts
 *   what the host trusts (a company CA included);
 * - localtime: the host's zone (a link into /usr/share/zoneinfo);
 * - alternatives: Debian's /usr/bin/awk, editor, … are links through
 *   /etc/alternatives; without it `awk` is missing from exec functions.
 *   Only links whose target the sandbox can see are kept;
 * - resolv.conf, for egress sandboxes only (see writeResolvConf).
 *
 * No machine-id: nothing a sandbox runs reads it, and a shared one would
 * tell two tenants they run on the same host.
 */
import { cp, lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SANDBOX_HOSTNAME = 'sandbox';

/** Files whose text the funclet writes itself. */
export function ownEtcFiles(uid: number): Record<string, string> {
  return {
    passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:${uid}:${uid}:nobody:/tmp:/usr/sbin/nologin\n`,
    group: `root:x:0:\nnogroup:x:${uid}:\n`,
    hosts: `127.0.0.1\tlocalhost ${SANDBOX_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n',
    hostname: `${SANDBOX_HOSTNAME}\n`,
  };
}

export interface EtcSource {
  /** The host's /etc, read for the CA bundle, localtime, alternatives and resolv.conf. */
  readonly hostEtc: string;
  /** Where links may point and still resolve inside a sandbox (its bound system folders). */
  readonly visibleDirs: readonly string[];
  /** The uid/gid sandbox processes run as. */
  readonly uid: number;
}

/** Writes a sandbox /etc into `target` (a new, empty folder). */
export async function assembleSandboxEtc(target: string, source: EtcSource): Promise<void> {
  await mkdir(target, { recursive: true, mode: 0o755 });
  for (const [name, text] of Object.entries(ownEtcFiles(source.uid))) await writeFile(join(target, name), text, { mode: 0o644 });
  const hostCerts = join(source.hostEtc, 'ssl', 'certs');
  if (await exists(hostCerts)) {
    await mkdir(join(target, 'ssl'), { mode: 0o755 });
    // Links are kept as links: they point into /usr/share/ca-certificates, which sandboxes see.
    await cp(hostCerts, join(target, 'ssl', 'certs'), { recursive: true, verbatimSymlinks: true });
  }
  await copyLinkOrFile(join(source.hostEtc, 'localtime'), join(target, 'localtime'));
  await copyVisibleLinks(join(source.hostEtc, 'alternatives'), join(target, 'alternatives'), source.visibleDirs);
}

/**
 * The resolver egress sandboxes use: the host's resolv.conf, unless it names
 * only loopback servers (systemd-resolved's 127.0.0.53, a local dnsmasq),
 * which a sandbox cannot reach (its loopback is its own): then the upstream
 * list systemd-resolved keeps, when there is one. Rewritten only when it
 * changed; returns whether it did.
 */
export async function writeResolvConf(target: string, hostEtc: string, resolvedUpstream = '/run/systemd/resolve/resolv.conf'): Promise<boolean> {
  let text = await readFile(join(hostEtc, 'resolv.conf'), 'utf8').catch(() => '');
  if (namesOnlyLoopback(text)) text = (await readFile(resolvedUpstream, 'utf8').catch(() => '')) || text;
  const path = join(target, 'resolv.conf');
  if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return false;
  await writeFile(path, text, { mode: 0o644 });
  return true;
}

export function namesOnlyLoopback(resolvConf: string): boolean {
  const servers = resolvConf
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((server): server is string => !!server);
  return servers.length > 0 && servers.every((server) => server.startsWith('127.') || server === '::1');
}

/** Whether a link target (absolute) resolves inside a sandbox. */
export function isVisibleTarget(linkTarget: string, visibleDirs: readonly string[]): boolean {
  if (!linkTarget.startsWith('/') || linkTarget.startsWith('/usr/local/')) return false;
  return visibleDirs.some((dir) => linkTarget.startsWith(`${dir}/`));
}

async function copyVisibleLinks(from: string, to: string, visibleDirs: readonly string[]): Promise<void> {
  const names = await readdir(from).catch(() => [] as string[]);
  if (names.length === 0) return;
  await mkdir(to, { mode: 0o755 });
  for (const name of names) {
    const target = await readlink(join(from, name)).catch(() => undefined);
    if (target !== undefined && isVisibleTarget(target, visibleDirs)) await symlink(target, join(to, name));
  }
}

async function copyLinkOrFile(from: string, to: string): Promise<void> {
  const stats = await lstat(from).catch(() => undefined);
  if (stats?.isSymbolicLink()) await symlink(await readlink(from), to);
  else if (stats?.isFile()) await writeFile(to, await readFile(from), { mode: 0o644 });
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}
