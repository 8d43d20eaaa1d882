/**
 * IPv4 forwarding, which egress needs, on only while egress sandboxes run,
 * and the host's own settings put back when the last one is gone.
 *
 * Why not forwarding on the funclet's bridge alone: the kernel decides per
 * *incoming* interface, so the answers coming back on the host's uplink
 * would need it there too (measured: with only the bridge's
 * `conf/<bridge>/forwarding` on, a sandbox's TCP connection out times out).
 * So `net.ipv4.ip_forward` is turned on while needed. Writing it rewrites
 * every interface's `conf/<if>/forwarding` and `conf/default/forwarding`,
 * so all of them are saved first and written back exactly.
 *
 * Several funclets may share a network namespace (tests, a host running two
 * platforms), and forwarding must stay on until the last of them needs it no
 * more: each one that needs it holds a file in a registry per network
 * namespace under /run/faas (a tmpfs, emptied at reboot as the sysctl is
 * reset), with the settings found before the first one turned it on. The
 * registry is changed under a lock (a directory, made atomically); holders
 * and lock owners that died (kill -9) are recognised by pid and start time
 * and ignored.
 */
import { mkdir, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface IpForwardingOptions {
  /** Who holds forwarding on (the funclet id): one holder file each. */
  readonly holder: string;
  /** Where registries live; one folder per network namespace below it. */
  readonly registryRoot?: string;
  /** /proc/sys/net/ipv4 of this network namespace. */
  readonly sysctlRoot?: string;
  /** This process's network namespace, as /proc/self/ns/net names it. */
  readonly namespaceLink?: string;
}

/** sysctl files (relative to sysctlRoot) → their values. */
export type ForwardingSettings = Record<string, string>;

const LOCK_WAIT_MS = 10_000;
const LOCK_RETRY_MS = 10;
/** A lock folder whose owner file never appeared is a crash between mkdir and write. */
const OWNERLESS_LOCK_MS = 5_000;

export class IpForwarding {
  private readonly registryRoot: string;
  private readonly sysctlRoot: string;
  private readonly namespaceLink: string;

  constructor(private readonly options: IpForwardingOptions) {
    this.registryRoot = options.registryRoot ?? '/run/faas/forwarding';
    this.sysctlRoot = options.sysctlRoot ?? '/proc/sys/net/ipv4';
    this.namespaceLink = options.namespaceLink ?? '/proc/self/ns/net';
  }

  /** Turns forwarding on for this holder (saving the host's settings if nobody held it). */
  async hold(): Promise<void> {
    await this.withLock(async (dir) => {
      await mkdir(join(dir, 'holders'), { recursive: true });
      await writeFile(join(dir, 'holders', this.options.holder), await processIdentity(process.pid));
      const savedPath = join(dir, 'saved.json');
      if (!(await exists(savedPath))) await writeFile(savedPath, JSON.stringify(await this.readSettings()));
      if ((await this.read('ip_forward')) !== '1') await this.write('ip_forward', '1');
    });
  }

  /**
   * Drops this holder; when no live holder is left, puts back the settings
   * saved before forwarding was turned on. Safe to call when not holding
   * (start-up cleanup after a kill -9 does so).
   */
  async release(): Promise<void> {
    await this.withLock(async (dir) => {
      await rm(join(dir, 'holders', this.options.holder), { force: true });
      const holders = await readdir(join(dir, 'holders')).catch(() => [] as string[]);
      for (const holder of holders) {
        const identity = await readFile(join(dir, 'holders', holder), 'utf8').catch(() => '');
        if (await isLive(identity)) return;
        await rm(join(dir, 'holders', holder), { force: true });
      }
      const savedPath = join(dir, 'saved.json');
      const saved = await readFile(savedPath, 'utf8').catch(() => undefined);
      if (saved === undefined) return;
      await this.restore(JSON.parse(saved) as ForwardingSettings);
      await rm(savedPath, { force: true });
    });
  }

  /** ip_forward, and conf/<every interface and default>/forwarding. */
  async readSettings(): Promise<ForwardingSettings> {
    const settings: ForwardingSettings = { ip_forward: await this.read('ip_forward') };
    for (const name of await readdir(join(this.sysctlRoot, 'conf'))) {
      if (name === 'all') continue; // the same setting as ip_forward
      const value = await this.read(`conf/${name}/forwarding`).catch(() => undefined);
      if (value !== undefined) settings[`conf/${name}/forwarding`] = value;
    }
    return settings;
  }

  /** ip_forward first (it rewrites the others), then every per-interface value that differs; interfaces gone since are skipped. */
  private async restore(saved: ForwardingSettings): Promise<void> {
    const { ip_forward: ipForward, ...perInterface } = saved;
    if (ipForward !== undefined && (await this.read('ip_forward')) !== ipForward) await this.write('ip_forward', ipForward);
    for (const [file, value] of Object.entries(perInterface)) {
      const current = await this.read(file).catch(() => undefined);
      if (current !== undefined && current !== value) await this.write(file, value);
    }
  }

  private async read(file: string): Promise<string> {
    return (await readFile(join(this.sysctlRoot, file), 'utf8')).trim();
  }

  private async write(file: string, value: string): Promise<void> {
    await writeFile(join(this.sysctlRoot, file), value);
  }

  private async withLock(work: (dir: string) => Promise<void>): Promise<void> {
    const namespace = (await readlink(this.namespaceLink)).replace(/\D/g, '');
    const dir = join(this.registryRoot, namespace);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = join(dir, 'lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await mkdir(lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (await isAbandoned(lock)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`the forwarding registry ${dir} stayed locked for ${LOCK_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
    try {
      await writeFile(join(lock, 'owner'), await processIdentity(process.pid));
      await work(dir);
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

/** "<pid>:<start time>": a pid alone may name another process after a restart. */
async function processIdentity(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Field 22 (start time) counting from the one after the command, which may hold spaces.
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return `${pid}:${startTime}`;
}

async function isLive(identity: string): Promise<boolean> {
  const pid = Number(identity.split(':')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return (await processIdentity(pid).catch(() => undefined)) === identity.trim();
}

async function isAbandoned(lock: string): Promise<boolean> {
  const owner = await readFile(join(lock, 'owner'), 'utf8').catch(() => undefined);
  if (owner !== undefined) return !(await isLive(owner));
  const made = await stat(lock).catch(() => undefined);
  return made === undefined || Date.now() - made.mtimeMs > OWNERLESS_LOCK_MS;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
