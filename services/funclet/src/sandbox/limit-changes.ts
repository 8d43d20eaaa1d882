/**
 * Resizing a running sandbox to its function's limits at specialisation:
 * only what differs from the limits it booted with is written.
 */
import type { CgroupDriver } from './cgroup-driver.js';
import type { HostCommand } from './host-command.js';
import type { SandboxLimits } from './limits.js';

export interface LimitTarget {
  readonly cgroupsPath: string;
  /** Host pid of the sandbox's init process, to remount its /tmp. */
  readonly pid: number;
}

export async function applyLimitChanges(
  target: LimitTarget,
  before: SandboxLimits,
  after: SandboxLimits,
  deps: { readonly cgroups: CgroupDriver; readonly run: HostCommand },
): Promise<void> {
  const { cgroups } = deps;
  const path = target.cgroupsPath;
  if (after.memoryBytes !== before.memoryBytes) await cgroups.setMemoryLimit(path, after.memoryBytes);
  if (after.cpuShares !== before.cpuShares || after.cpuQuotaUs !== before.cpuQuotaUs || after.cpuPeriodUs !== before.cpuPeriodUs) {
    await cgroups.setCpu(path, after.cpuShares, after.cpuQuotaUs, after.cpuPeriodUs);
  }
  if (after.pids !== before.pids) await cgroups.setPids(path, after.pids);
  if (after.tmpMb !== before.tmpMb) {
    // Remounting keeps the files; the flags must be repeated or mount(8) drops them.
    await deps.run('nsenter', ['-t', String(target.pid), '-m', 'mount', '-o', `remount,nosuid,nodev,size=${after.tmpMb}m`, '/tmp']);
  }
}
