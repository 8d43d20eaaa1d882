/** File helpers shared by the cgroup drivers. */
import { readFileSync, writeFileSync } from 'node:fs';
import { lstat, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Synchronous on purpose: a cgroup file read or write is a few µs in the
 * kernel, while the thread pool may be queued behind slow disk work (a pool
 * refill unpacking bundles), and these sit on the specialisation hot path.
 */
export async function readText(path: string): Promise<string> {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export async function writeText(path: string, value: string): Promise<void> {
  writeFileSync(path, value);
}

/** "key value" lines (memory.oom_control, memory.events) as numbers. */
export function parseKeyValues(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) values.set(key, Number(value));
  }
  return values;
}

export async function isRealDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function subtreeDeepestFirst(dir: string): Promise<string[]> {
  const result: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) result.push(...(await subtreeDeepestFirst(join(dir, entry.name))));
  }
  result.push(dir);
  return result;
}

/** rmdir of a cgroup only when nothing is in it: the kernel refuses (EBUSY) one with children or processes. */
export async function removeEmptyCgroupDir(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * rmdir of a cgroup, killing whatever still runs inside: by then it belongs
 * to a sandbox nobody owns any more.
 */
export async function removeCgroupDir(dir: string): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(dir);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false;
    }
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
