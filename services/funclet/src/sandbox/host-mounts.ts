/**
 * The two host mounts the pool's specialisation relies on, set up once at
 * start (and removed by host-cleanup.ts):
 *
 * - sandboxes/ bound onto itself and made a shared mount of its own peer
 *   group, so a mount made later on sandboxes/<id>/code propagates into that
 *   sandbox's container (whose /var/task is a slave bind of it).
 * - code-view/, a read-only, nosuid, nodev bind of code/. A bind made from a
 *   read-only mount is read-only from birth, so the propagated copy inside
 *   the container is read-only too (a remount afterwards would not
 *   propagate).
 */
import { mkdir } from 'node:fs/promises';
import type { HostCommand } from './host-command.js';

export async function prepareHostMounts(run: HostCommand, dirs: { sandboxesDir: string; codeDir: string; codeViewDir: string }): Promise<void> {
  const { sandboxesDir, codeDir, codeViewDir } = dirs;
  await mkdir(sandboxesDir, { recursive: true, mode: 0o700 });
  await mkdir(codeDir, { recursive: true, mode: 0o755 });
  await mkdir(codeViewDir, { recursive: true, mode: 0o755 });
  await run('mount', ['--bind', sandboxesDir, sandboxesDir]);
  // Private first: a bind of a shared parent would join its peer group and spray our mounts everywhere.
  await run('mount', ['--make-private', sandboxesDir]);
  await run('mount', ['--make-shared', sandboxesDir]);
  await run('mount', ['--bind', codeDir, codeViewDir]);
  await run('mount', ['-o', 'remount,bind,ro,nosuid,nodev', codeViewDir]);
}
