import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectCgroupDriver, sharesToWeight } from './cgroup-driver.js';
import { CgroupV1Driver } from './cgroup-v1.js';
import { CgroupV2Driver } from './cgroup-v2.js';

// A fake unified hierarchy: plain files where the kernel would have its own.
let root: string;
const sandbox = '/faas/f1/faas-f1-7';
const file = (name: string) => join(root, sandbox, name);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgroup-v2-'));
  await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  await mkdir(join(root, sandbox), { recursive: true });
  for (const [name, value] of Object.entries({
    'memory.current': '7340032\n',
    'memory.max': 'max\n',
    'memory.swap.max': 'max\n',
    'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\noom_group_kill 0\n',
    'cpu.max': 'max 100000\n',
    'cpu.weight': '100\n',
    'pids.max': 'max\n',
    'cgroup.procs': '',
  })) {
    await writeFile(file(name), value);
  }
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('cgroup v2 driver', () => {
  it('is chosen when the root lists its controllers, v1 otherwise', async () => {
    expect(detectCgroupDriver(root)).toBeInstanceOf(CgroupV2Driver);
    const v1Root = await mkdtemp(join(tmpdir(), 'cgroup-v1-'));
    expect(detectCgroupDriver(v1Root)).toBeInstanceOf(CgroupV1Driver);
    await rm(v1Root, { recursive: true });
  });

  it('reads usage from memory.current', async () => {
    expect(await new CgroupV2Driver(root).memoryUsageBytes(sandbox)).toBe(7_340_032);
  });

  it('reports an OOM kill only when memory.events counts one', async () => {
    const driver = new CgroupV2Driver(root);
    // Reaching memory.max (max 3, oom 1) is not a kill.
    expect(await driver.oomKilled(sandbox)).toBe(false);
    await writeFile(file('memory.events'), 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n');
    expect(await driver.oomKilled(sandbox)).toBe(true);
  });

  it('writes memory.max with no swap, cpu.max and cpu.weight, and pids.max', async () => {
    const driver = new CgroupV2Driver(root);
    await driver.setMemoryLimit(sandbox, 256 * 1024 * 1024);
    await driver.setCpu(sandbox, 256, 25_000, 100_000);
    await driver.setPids(sandbox, 128);
    expect(await readFile(file('memory.max'), 'utf8')).toBe(String(256 * 1024 * 1024));
    expect(await readFile(file('memory.swap.max'), 'utf8')).toBe('0');
    expect(await readFile(file('cpu.max'), 'utf8')).toBe('25000 100000');
    expect(await readFile(file('cpu.weight'), 'utf8')).toBe(String(sharesToWeight(256)));
    expect(await readFile(file('pids.max'), 'utf8')).toBe('128');
    await driver.setCpu(sandbox, 1024, -1, 100_000);
    expect(await readFile(file('cpu.max'), 'utf8')).toBe('max 100000');
  });

  it('maps v1 shares onto v2 weights as runc does', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262_144)).toBe(10_000);
  });

  it('removes the subtree deepest first (empty directories here stand for empty cgroups)', async () => {
    // rmdir refuses a directory with files in it; a real cgroup's files vanish with it.
    const empty = join(root, 'faas', 'f2', 'faas-f2-1');
    await mkdir(empty, { recursive: true });
    const driver = new CgroupV2Driver(root);
    expect(await driver.removeTree('faas/f2')).toEqual([]);
    expect(await driver.removeTree('faas/absent')).toEqual([]);
    await expect(readFile(join(empty, 'x'))).rejects.toThrow();
  });
});

describe('cgroup v1 driver', () => {
  it('raises memsw before the limit and lowers the limit first, so limit ≤ memsw holds at every step', async () => {
    const v1 = await mkdtemp(join(tmpdir(), 'cgroup-v1-'));
    const dir = join(v1, 'memory', sandbox);
    await mkdir(dir, { recursive: true });
    const writes: string[] = [];
    await writeFile(join(dir, 'memory.limit_in_bytes'), String(64 << 20));
    await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), String(64 << 20));
    class Recording extends CgroupV1Driver {}
    const driver = new Recording(v1);
    const { watch } = await import('node:fs');
    const watcher = watch(dir, (_, name) => name && writes.push(name));
    await driver.setMemoryLimit(sandbox, 192 << 20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    watcher.close();
    expect(await readFile(join(dir, 'memory.limit_in_bytes'), 'utf8')).toBe(String(192 << 20));
    expect(await readFile(join(dir, 'memory.memsw.limit_in_bytes'), 'utf8')).toBe(String(192 << 20));
    expect(writes.indexOf('memory.memsw.limit_in_bytes')).toBeLessThan(writes.indexOf('memory.limit_in_bytes'));
    await rm(v1, { recursive: true });
  });
});
