/**
 * The two host mounts sandboxes are made from, set up once at start (and
 * removed by host-cleanup.ts):
 *
 * - sandboxes/, a tmpfs of its own, made a shared mount of its own peer
 *   group. Every bundle (rootfs, the agent's socket folder, the code mount
 *   point) and what all sandboxes share (the agent, their /etc; see
 *   staging.ts) lives in it, so the sandbox's /proc/self/mountinfo names
 *   folders of this tmpfs ("/agent", "/3f0c…/rootfs") and never a host path
 *   (the state folder, the checkout). Shared, so that a mount made later on
 *   sandboxes/<bundle>/code propagates into that sandbox's container (whose
 *   /var/task is a slave bind of it).
 * - code-view/, a read-only, nosuid, nodev bind of code/: what views of
 *   bundles are mounted from (see mount-helper.ts), with the empty layer
 *   every view needs beside the bundles.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostCommand } from './host-command.js';
import { EMPTY_LAYER } from './mount-helper.js';

/** Bundles are a few KiB each; the agent and /etc a few MiB. */
const SANDBOXES_TMPFS_OPTIONS = 'size=64m,mode=0700,nosuid,nodev';

export async function prepareHostMounts(run: HostCommand, dirs: { sandboxesDir: string; codeDir: string; codeViewDir: string }): Promise<void> {
  const { sandboxesDir, codeDir, codeViewDir } = dirs;
  await mkdir(sandboxesDir, { recursive: true, mode: 0o700 });
  await mkdir(codeDir, { recursive: true, mode: 0o755 });
  await mkdir(join(codeDir, EMPTY_LAYER), { recursive: true, mode: 0o755 });
  await mkdir(codeViewDir, { recursive: true, mode: 0o755 });
  await run('mount', ['-t', 'tmpfs', '-o', SANDBOXES_TMPFS_OPTIONS, 'tmpfs', sandboxesDir]);
  // Private first: a mount under a shared parent would join its peer group and spray our mounts everywhere.
  await run('mount', ['--make-private', sandboxesDir]);
  await run('mount', ['--make-shared', sandboxesDir]);
  await run('mount', ['--bind', codeDir, codeViewDir]);
  await run('mount', ['-o', 'remount,bind,ro,nosuid,nodev', codeViewDir]);
}
