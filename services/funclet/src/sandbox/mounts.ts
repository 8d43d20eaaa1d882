/**
 * Mounts left on the host under the sandboxes directory (runc normally keeps
 * every mount inside the container's own mount namespace; this is the safety
 * net after a crash).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Mount points from /proc/self/mountinfo at or below `prefix`, deepest first. */
export async function mountsUnder(prefix: string, mountInfoPath = '/proc/self/mountinfo'): Promise<string[]> {
  const text = await readFile(mountInfoPath, 'utf8').catch(() => '');
  return parseMountPoints(text)
    .filter((mountPoint) => mountPoint === prefix || mountPoint.startsWith(`${prefix}/`))
    .sort((a, b) => b.split('/').length - a.split('/').length);
}

/** The fifth field of each mountinfo line, with the kernel's octal escapes undone. */
export function parseMountPoints(mountInfo: string): string[] {
  return mountInfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => !!field)
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/** Lazily unmounts every mount under `prefix`; returns those still mounted. */
export async function unmountAllUnder(prefix: string): Promise<string[]> {
  for (const mountPoint of await mountsUnder(prefix)) {
    await new Promise<void>((resolve) => execFile('umount', ['-l', mountPoint], () => resolve()));
  }
  return mountsUnder(prefix);
}
