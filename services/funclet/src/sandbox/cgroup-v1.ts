/**
 * cgroup v1: one hierarchy per controller under /sys/fs/cgroup/<controller>,
 * the sandbox's cgroup at the same relative path in each.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupDriver } from './cgroup-driver.js';
import { isRealDirectory, parseKeyValues, readText, removeCgroupDir, removeEmptyCgroupDir, subtreeDeepestFirst, writeText } from './cgroup-files.js';

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1 as const;

  constructor(private readonly root: string) {}

  async memoryUsageBytes(path: string): Promise<number> {
    return Number(await readText(join(this.root, 'memory', path, 'memory.usage_in_bytes'))) || 0;
  }

  async oomKilled(path: string): Promise<boolean> {
    const dir = join(this.root, 'memory', path);
    const oomControl = parseKeyValues(await readText(join(dir, 'memory.oom_control')));
    if ((oomControl.get('oom_kill') ?? 0) > 0 || (oomControl.get('under_oom') ?? 0) > 0) return true;
    // Older kernels have no oom_kill counter: reaching the limit is the best evidence left.
    if (oomControl.has('oom_kill')) return false;
    const failures = Number(await readText(join(dir, 'memory.failcnt')));
    const limit = Number(await readText(join(dir, 'memory.limit_in_bytes')));
    const peak = Number(await readText(join(dir, 'memory.max_usage_in_bytes')));
    return failures > 0 || (limit > 0 && peak >= limit);
  }

  async setMemoryLimit(path: string, bytes: number): Promise<void> {
    const dir = join(this.root, 'memory', path);
    const limitFile = join(dir, 'memory.limit_in_bytes');
    const swapFile = join(dir, 'memory.memsw.limit_in_bytes');
    const hasSwapAccounting = (await readText(swapFile)) !== '';
    if (!hasSwapAccounting) return writeText(limitFile, String(bytes));
    // The kernel keeps limit ≤ memsw at every step: raise memsw first, lower the limit first.
    const current = Number(await readText(limitFile));
    if (bytes >= current) {
      await writeText(swapFile, String(bytes));
      await writeText(limitFile, String(bytes));
    } else {
      await writeText(limitFile, String(bytes));
      await writeText(swapFile, String(bytes));
    }
  }

  async setCpu(path: string, shares: number, quotaUs: number, periodUs: number): Promise<void> {
    const dir = join(this.root, 'cpu', path);
    await writeText(join(dir, 'cpu.shares'), String(Math.max(2, Math.round(shares))));
    await writeText(join(dir, 'cpu.cfs_period_us'), String(periodUs));
    await writeText(join(dir, 'cpu.cfs_quota_us'), String(quotaUs > 0 ? Math.round(quotaUs) : -1));
  }

  async setPids(path: string, limit: number): Promise<void> {
    await writeText(join(this.root, 'pids', path, 'pids.max'), String(limit));
  }

  async remove(path: string): Promise<boolean> {
    let removed = true;
    for (const hierarchy of await this.hierarchies()) {
      const dir = join(this.root, hierarchy, path);
      if (!(await isRealDirectory(dir))) continue;
      if (!(await removeCgroupDir(dir))) removed = false;
    }
    return removed;
  }

  async removeTree(relativePath: string, options: { keepTop?: boolean } = {}): Promise<string[]> {
    const leftovers: string[] = [];
    for (const hierarchy of await this.hierarchies()) {
      const top = join(this.root, hierarchy, relativePath);
      if (!(await isRealDirectory(top))) continue;
      for (const dir of await subtreeDeepestFirst(top)) {
        if (options.keepTop && dir === top) continue;
        if (!(await removeCgroupDir(dir))) leftovers.push(dir);
      }
    }
    return leftovers;
  }

  async removeIfEmpty(relativePath: string): Promise<boolean> {
    let removed = true;
    for (const hierarchy of await this.hierarchies()) {
      if (!(await removeEmptyCgroupDir(join(this.root, hierarchy, relativePath)))) removed = false;
    }
    return removed;
  }

  private async hierarchies(): Promise<string[]> {
    const names: string[] = [];
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      // cpu,cpuacct style symlinks point at a hierarchy already listed. runc also
      // creates the cgroup in the hybrid "unified" mount, so that one is kept.
      if (await isRealDirectory(join(this.root, name))) names.push(name);
    }
    return names;
  }
}
