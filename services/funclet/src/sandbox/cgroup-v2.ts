/**
 * cgroup v2: one unified hierarchy; the sandbox's cgroup is
 * /sys/fs/cgroup/<path> with memory.*, cpu.* and pids.* files side by side.
 */
import { join } from 'node:path';
import { sharesToWeight, type CgroupDriver } from './cgroup-driver.js';
import { isRealDirectory, parseKeyValues, readText, removeCgroupDir, removeEmptyCgroupDir, subtreeDeepestFirst, writeText } from './cgroup-files.js';

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2 as const;

  constructor(private readonly root: string) {}

  async memoryUsageBytes(path: string): Promise<number> {
    return Number(await readText(join(this.root, path, 'memory.current'))) || 0;
  }

  async oomKilled(path: string): Promise<boolean> {
    const events = parseKeyValues(await readText(join(this.root, path, 'memory.events')));
    return (events.get('oom_kill') ?? 0) > 0;
  }

  async setMemoryLimit(path: string, bytes: number): Promise<void> {
    const dir = join(this.root, path);
    await writeText(join(dir, 'memory.max'), String(bytes));
    // v2 counts swap separately; a sandbox gets none, as memsw = limit does on v1.
    if ((await readText(join(dir, 'memory.swap.max'))) !== '') await writeText(join(dir, 'memory.swap.max'), '0');
  }

  async setCpu(path: string, shares: number, quotaUs: number, periodUs: number): Promise<void> {
    const dir = join(this.root, path);
    await writeText(join(dir, 'cpu.weight'), String(sharesToWeight(shares)));
    await writeText(join(dir, 'cpu.max'), `${quotaUs > 0 ? Math.round(quotaUs) : 'max'} ${periodUs}`);
  }

  async setPids(path: string, limit: number): Promise<void> {
    await writeText(join(this.root, path, 'pids.max'), String(limit));
  }

  async remove(path: string): Promise<boolean> {
    const dir = join(this.root, path);
    if (!(await isRealDirectory(dir))) return true;
    return removeCgroupDir(dir);
  }

  async removeTree(relativePath: string, options: { keepTop?: boolean } = {}): Promise<string[]> {
    const top = join(this.root, relativePath);
    if (!(await isRealDirectory(top))) return [];
    const leftovers: string[] = [];
    for (const dir of await subtreeDeepestFirst(top)) {
      if (options.keepTop && dir === top) continue;
      if (!(await removeCgroupDir(dir))) leftovers.push(dir);
    }
    return leftovers;
  }

  async removeIfEmpty(relativePath: string): Promise<boolean> {
    return removeEmptyCgroupDir(join(this.root, relativePath));
  }
}
