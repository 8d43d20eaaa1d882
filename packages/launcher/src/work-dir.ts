/**
 * Removing a platform's work folder. A funclet that had to be killed at stop
 * (it did not finish its own cleanup in time, on a loaded machine) leaves
 * its mounts (code views, sandbox roots) under the folder, and rm then fails
 * with EBUSY: those mounts go first, deepest first, lazily.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo, octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const root = path.resolve(dir);
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === root || point.startsWith(`${root}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function removeWorkDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EBUSY') throw error;
  }
  for (const point of mountsUnder(dir)) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // Gone already, or a parent's lazy unmount took it.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
