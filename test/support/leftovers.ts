import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Where funclets record that they hold IPv4 forwarding on (services/funclet/src/sandbox/ip-forwarding.ts). */
const FORWARDING_REGISTRY = '/run/faas/forwarding';

/**
 * Everything a funclet could leave behind on the host, found by looking at
 * the host itself rather than asking the funclet: runc containers, cgroups,
 * mounts, network namespaces, its firewall rules and egress bridge (named
 * after a hash of its id), and a hold on the host's IP forwarding.
 */
export function hostLeftovers(funcletId: string, stateDir: string, runcRoot: string) {
  const containers = existsSync(runcRoot)
    ? (JSON.parse(execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || 'null') ?? [])
        .map((c: { id: string }) => c.id)
    : [];
  const cgroups: string[] = [];
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', controller, 'faas', funcletId);
    if (existsSync(dir)) {
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) cgroups.push(path.join(dir, entry.name));
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(stateDir) || line.includes(`faas-${funcletId}-`));
  const namespaces = existsSync('/run/netns') ? readdirSync('/run/netns').filter((name) => name.includes(funcletId)) : [];
  const egressHash = createHash('sha256').update(funcletId).digest('hex').slice(0, 10);
  const firewall = [
    ...execFileSync('iptables-save', { encoding: 'utf8' }).split('\n'),
    ...execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n'),
  ].filter((line) => line.includes(egressHash));
  const forwardingHolds = (existsSync(FORWARDING_REGISTRY) ? readdirSync(FORWARDING_REGISTRY) : [])
    .map((namespace) => path.join(FORWARDING_REGISTRY, namespace, 'holders', funcletId))
    .filter((holder) => existsSync(holder));
  return { containers, cgroups, mounts, namespaces, firewall, forwardingHolds };
}

/** What hostLeftovers finds once a funclet has cleaned up after itself. */
export const NOTHING_LEFT = { containers: [], cgroups: [], mounts: [], namespaces: [], firewall: [], forwardingHolds: [] };

/** The shared `faas` parent cgroups that hold no funclet's cgroups: stopping the last funclet must remove them. */
export function emptyFaasParents(): string[] {
  const empty: string[] = [];
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    const parent = path.join('/sys/fs/cgroup', controller, 'faas');
    if (!existsSync(parent)) continue;
    if (!readdirSync(parent, { withFileTypes: true }).some((entry) => entry.isDirectory())) empty.push(parent);
  }
  return empty;
}
