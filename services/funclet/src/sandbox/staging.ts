/**
 * What every sandbox's root shares, staged once per funclet start in the
 * sandboxes tmpfs (host-mounts.ts) and bound read-only into each sandbox:
 *
 * - agent/: a copy of the built runtime agent (its .js and .py files), so
 *   /opt/faas is not a bind of the checkout the funclet runs from;
 * - etc/: the sandbox's own /etc (sandbox-etc.ts);
 * - etc-egress/: the same plus resolv.conf, for functions with egress.
 *
 * Staged in that tmpfs, these show in a sandbox's /proc/self/mountinfo as
 * "/agent", "/etc" and "/etc-egress": folders of a tmpfs that say nothing
 * about the host.
 */
import { cp, mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { assembleSandboxEtc, writeResolvConf, type EtcSource } from './sandbox-etc.js';

export interface StagedRoot {
  /** Bound at /opt/faas. */
  readonly agentDir: string;
  /** Bound at /etc: without, and with a resolver. */
  readonly etcDir: string;
  readonly egressEtcDir: string;
  /** Brings the egress /etc's resolv.conf up to date with the host's (cheap when unchanged). */
  refreshResolver(): Promise<void>;
}

/** What the agent needs at run time; its type declarations and source maps stay out. */
const AGENT_FILE = /(\.m?js|\.cjs|\.py|package\.json)$/;

export async function stageSharedRoot(sandboxesDir: string, builtAgentDir: string, etc: EtcSource): Promise<StagedRoot> {
  const agentDir = join(sandboxesDir, 'agent');
  const etcDir = join(sandboxesDir, 'etc');
  const egressEtcDir = join(sandboxesDir, 'etc-egress');
  await mkdir(agentDir, { mode: 0o755 });
  await cp(builtAgentDir, agentDir, {
    recursive: true,
    filter: async (source) => (await stat(source)).isDirectory() || AGENT_FILE.test(basename(source)),
  });
  await assembleSandboxEtc(etcDir, etc);
  await assembleSandboxEtc(egressEtcDir, etc);
  const refreshResolver = async () => void (await writeResolvConf(egressEtcDir, etc.hostEtc));
  await refreshResolver();
  return { agentDir, etcDir, egressEtcDir, refreshResolver };
}
