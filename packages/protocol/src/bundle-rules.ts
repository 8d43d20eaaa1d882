/**
 * What a code bundle may hold, checked the same way where it is uploaded
 * (stubs refuses it then, with the reason) and where it is unpacked (the
 * funclet, for bundles stored before a rule existed).
 */
export const BUNDLE_LIMITS = {
  /** Sum of the unpacked files' sizes. */
  maxBytes: 256 * 1024 * 1024,
  maxFiles: 20_000,
  /** A file that inflates more than this many times its packed size, once past minRatioCheckBytes, is a bomb, not code. */
  maxRatio: 200,
  minRatioCheckBytes: 1024 * 1024,
} as const;

/** An entry name as a relative path inside the bundle (undefined for the bundle's own root), or why it may not be one. */
export function bundleEntryPath(name: string): { path?: string; problem?: string } {
  if (name.includes('\0')) return { problem: `entry name ${JSON.stringify(name)} contains a NUL byte` };
  const unified = name.replaceAll('\\', '/');
  if (unified.startsWith('/') || /^[A-Za-z]:\//.test(unified)) return { problem: `entry ${JSON.stringify(name)} has an absolute path` };
  const segments = unified.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return { problem: `entry ${JSON.stringify(name)} escapes the bundle with ".."` };
  return { path: segments.length === 0 ? undefined : segments.join('/') };
}

/** Why a link at `entryPath` pointing at `target` leaves the bundle, or undefined when it stays inside. */
export function linkTargetProblem(entryPath: string, target: string): string | undefined {
  const unified = target.replaceAll('\\', '/');
  if (unified.startsWith('/') || /^[A-Za-z]:\//.test(unified)) return `link ${JSON.stringify(entryPath)} points at the absolute path ${JSON.stringify(target.slice(0, 200))}`;
  const depth: string[] = entryPath.split('/').slice(0, -1);
  for (const segment of unified.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') depth.push(segment);
    else if (depth.pop() === undefined) return `link ${JSON.stringify(entryPath)} points outside the bundle (${JSON.stringify(target.slice(0, 200))})`;
  }
  return undefined;
}
