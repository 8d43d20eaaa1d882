/**
 * Removes everything sandboxes of this funclet id left on the host: runc
 * containers, mounts, bundle directories and cgroups. Runs at start (a
 * previous process may have died with kill -9) and at shutdown, after the
 * sandboxes were destroyed, to catch whatever a failed destroy left.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from '@faas/telemetry';
import { removeCgroupTree } from './sandbox/cgroups.js';
import { unmountAllUnder } from './sandbox/mounts.js';
import type { Runc } from './sandbox/runc.js';
import { SandboxManager } from './sandbox-manager.js';

export interface HostCleanupOptions {
  readonly funcletId: string;
  readonly sandboxesDir: string;
  readonly runc: Runc;
  readonly log: Logger;
}

export interface CleanupReport {
  readonly containers: string[];
  readonly mounts: string[];
  readonly cgroupLeftovers: string[];
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

  const stillMounted = await unmountAllUnder(sandboxesDir);
  if (stillMounted.length > 0) log.warn({ mounts: stillMounted }, 'mounts under the sandboxes directory survived umount');
  await rm(sandboxesDir, { recursive: true, force: true });
  await mkdir(sandboxesDir, { recursive: true, mode: 0o700 });

  const cgroupLeftovers = await removeCgroupTree(`faas/${funcletId}`);
  if (cgroupLeftovers.length > 0) log.warn({ cgroups: cgroupLeftovers }, 'cgroups that could not be removed');
  return { containers, mounts: stillMounted, cgroupLeftovers };
}
