/**
 * Removes everything sandboxes of this funclet id left on the host: runc
 * containers, mounts, bundle directories, cgroups and network namespaces.
 * Runs at start (a previous process may have died with kill -9) and at
 * shutdown, after the sandboxes were destroyed, to catch whatever a failed
 * destroy left.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from '@faas/telemetry';
import type { CgroupDriver } from './sandbox/cgroup-driver.js';
import type { EgressNetwork } from './sandbox/egress-network.js';
import type { HostCommand } from './sandbox/host-command.js';
import { unmountAllUnder } from './sandbox/mounts.js';
import { NetnsPool } from './sandbox/netns-pool.js';
import type { Runc } from './sandbox/runc.js';
import { SandboxManager } from './sandbox-manager.js';

export interface HostCleanupOptions {
  readonly funcletId: string;
  readonly sandboxesDir: string;
  /** The read-only view of the code cache (unmounted, left empty). */
  readonly codeViewDir: string;
  readonly runc: Runc;
  readonly cgroups: CgroupDriver;
  readonly run: HostCommand;
  readonly egress: EgressNetwork;
  readonly log: Logger;
}

export interface CleanupReport {
  readonly containers: string[];
  readonly mounts: string[];
  readonly cgroupLeftovers: string[];
  readonly namespaces: string[];
}

export async function cleanHost(options: HostCleanupOptions): Promise<CleanupReport> {
  const { funcletId, sandboxesDir, runc, log } = options;
  const ours = SandboxManager.containerIdPattern(funcletId);

  const containers: string[] = [];
  let listed: Awaited<ReturnType<Runc['list']>> = [];
  try {
    listed = await runc.list();
  } catch (error) {
    log.warn({ err: error }, 'cannot list runc containers');
  }
  for (const container of listed) {
    if (!ours.test(container.id)) continue;
    try {
      await runc.forceDelete(container.id);
      containers.push(container.id);
    } catch (error) {
      log.warn({ container: container.id, err: error }, 'cannot delete an orphaned container');
    }
  }

  const stillMounted = [...(await unmountAllUnder(sandboxesDir)), ...(await unmountAllUnder(options.codeViewDir))];
  if (stillMounted.length > 0) log.warn({ mounts: stillMounted }, 'mounts under the sandboxes directory survived umount');
  await rm(sandboxesDir, { recursive: true, force: true });
  await mkdir(sandboxesDir, { recursive: true, mode: 0o700 });

  const cgroupLeftovers = await options.cgroups.removeTree(`faas/${funcletId}`);
  if (cgroupLeftovers.length > 0) log.warn({ cgroups: cgroupLeftovers }, 'cgroups that could not be removed');
  // The parent all funclets share goes with the last of them (the kernel keeps it while another's cgroups are in it).
  await options.cgroups.removeIfEmpty('faas');

  const namespaces = await NetnsPool.removeOrphans(funcletId, options.run);
  await options.egress.teardown().catch((error: unknown) => log.warn({ err: error }, 'cannot remove the egress network'));
  return { containers, mounts: stillMounted, cgroupLeftovers, namespaces };
}
