/**
 * The one interface through which the funclet reads and changes a sandbox's
 * cgroup, whatever the host runs: cgroup v1 (a hierarchy per controller) or
 * v2 (one unified hierarchy). runc creates the cgroup from the bundle; these
 * drivers resize it when a pooled sandbox is specialised and read usage and
 * OOM kills afterwards. `path` is always the bundle's cgroupsPath
 * (e.g. /faas/<funcletId>/<containerId>).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupV1Driver } from './cgroup-v1.js';
import { CgroupV2Driver } from './cgroup-v2.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export interface CgroupDriver {
  readonly version: 1 | 2;
  memoryUsageBytes(path: string): Promise<number>;
  /** True when the kernel killed (or stalled) something in the cgroup for lack of memory. Read it before the container is deleted. */
  oomKilled(path: string): Promise<boolean>;
  /** Memory and memory+swap (v1) / memory.max with no swap (v2). */
  setMemoryLimit(path: string, bytes: number): Promise<void>;
  /** `shares` in v1 units (2..262144); `quotaUs` ≤ 0 means no quota. */
  setCpu(path: string, shares: number, quotaUs: number, periodUs: number): Promise<void>;
  setPids(path: string, limit: number): Promise<void>;
  /** Removes one sandbox's cgroup, killing what still runs in it; false when it would not go. */
  remove(path: string): Promise<boolean>;
  /** Removes a whole subtree (e.g. faas/<funcletId>) deepest first; returns what survived. */
  removeTree(relativePath: string, options?: { keepTop?: boolean }): Promise<string[]>;
  /** Removes a cgroup that holds no other cgroup and no process; leaves it (and says false) otherwise. */
  removeIfEmpty(relativePath: string): Promise<boolean>;
}

/** v2 when the root is the unified hierarchy (it then lists its controllers). */
export function detectCgroupDriver(root = CGROUP_ROOT): CgroupDriver {
  return existsSync(join(root, 'cgroup.controllers')) ? new CgroupV2Driver(root) : new CgroupV1Driver(root);
}

/** runc's mapping from v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  const clamped = Math.min(262_144, Math.max(2, Math.round(shares)));
  return Math.floor(1 + ((clamped - 2) * 9999) / 262_142);
}
