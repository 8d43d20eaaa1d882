/**
 * What the funclet reads from and removes in the cgroup v1 hierarchies runc
 * puts sandboxes in (/sys/fs/cgroup/<controller>/<cgroupsPath>).
 */
import { lstat, readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * True when the kernel hit the sandbox's memory limit hard enough to kill or
 * stall it. Must be read before the container is deleted (which removes the
 * cgroup).
 */
export async function ranOutOfMemory(cgroupsPath: string, root = CGROUP_ROOT): Promise<boolean> {
  const dir = join(root, 'memory', cgroupsPath);
  const oomControl = parseKeyValues(await readText(join(dir, 'memory.oom_control')));
  if ((oomControl.get('oom_kill') ?? 0) > 0 || (oomControl.get('under_oom') ?? 0) > 0) return true;
  // Older kernels have no oom_kill counter: reaching the limit is the best evidence left.
  if (oomControl.has('oom_kill')) return false;
  const failures = Number(await readText(join(dir, 'memory.failcnt')));
  const limit = Number(await readText(join(dir, 'memory.limit_in_bytes')));
  const peak = Number(await readText(join(dir, 'memory.max_usage_in_bytes')));
  return failures > 0 || (limit > 0 && peak >= limit);
}

/**
 * Removes a cgroup subtree (e.g. "faas/<funcletId>") from every hierarchy,
 * deepest first, killing any process still inside. With `keepTop` only the
 * children go.
 */
export async function removeCgroupTree(relativePath: string, options: { keepTop?: boolean; root?: string } = {}): Promise<string[]> {
  const root = options.root ?? CGROUP_ROOT;
  const leftovers: string[] = [];
  for (const hierarchy of await hierarchies(root)) {
    const top = join(root, hierarchy, relativePath);
    if (!(await isRealDirectory(top))) continue;
    for (const dir of await subtreeDeepestFirst(top)) {
      if (options.keepTop && dir === top) continue;
      if (!(await removeCgroup(dir))) leftovers.push(dir);
    }
  }
  return leftovers;
}

async function hierarchies(root: string): Promise<string[]> {
  const names: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    // cpu,cpuacct style symlinks point at a hierarchy already listed.
    if (await isRealDirectory(join(root, name))) names.push(name);
  }
  return names;
}

async function subtreeDeepestFirst(dir: string): Promise<string[]> {
  const result: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) result.push(...(await subtreeDeepestFirst(join(dir, entry.name))));
  }
  result.push(dir);
  return result;
}

async function removeCgroup(dir: string): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(dir);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false;
    }
    // Still populated: whatever runs there belongs to a sandbox nobody owns any more.
    for (const pid of await readPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(20);
  }
  return false;
}

async function readPids(dir: string): Promise<number[]> {
  const text = await readText(join(dir, 'cgroup.procs'));
  return text
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function parseKeyValues(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) values.set(key, Number(value));
  }
  return values;
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

async function isRealDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}
