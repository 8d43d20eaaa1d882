/**
 * The OCI runtime spec (config.json) of a sandbox. The root filesystem is an
 * empty read-only directory; the host's system directories are bound into it
 * read-only, so no image is needed. Everything the function may write is a
 * size-limited tmpfs.
 */

import type { SandboxLimits } from './limits.js';
import { sandboxSeccompProfile } from './seccomp.js';

/** The unprivileged uid/gid ("nobody") every sandbox process runs as. */
export const SANDBOX_UID = 65534;
export const SANDBOX_CODE_DIR = '/var/task';
export const SANDBOX_AGENT_DIR = '/opt/faas';
export const SANDBOX_RUN_DIR = '/run/faas';

export interface ReadOnlyMount {
  /** Host directory. */
  readonly source: string;
  /** Where the sandbox sees it. */
  readonly destination: string;
}

export interface SandboxSpecOptions {
  /** Host directories bound read-only at the same path (e.g. /usr, /lib, /lib64, /bin, /sbin, /etc). */
  readonly hostSystemDirs: readonly string[];
  /** Host directory of the unpacked code, bound at /var/task. */
  readonly codeDir: string;
  /**
   * Bind /var/task as a slave of codeDir, so a mount made on codeDir on the
   * host later (the pool's specialisation) appears inside.
   */
  readonly codePropagates?: boolean;
  /** Host directory of the compiled agent, bound at /opt/faas. */
  readonly agentDir: string;
  /** Host directory for the agent's socket, bound writable at /run/faas. */
  readonly runDir: string;
  /** The program and its arguments, as seen inside the sandbox. */
  readonly args: readonly string[];
  readonly limits: SandboxLimits;
  /** e.g. /faas/<funcletId>/<containerId>. */
  readonly cgroupsPath: string;
  /** A named network namespace to join (/run/netns/...); a fresh one with only lo when absent. */
  readonly netnsPath?: string;
  /** More host directories bound read-only (e.g. a custom runtime's bundle at /opt/runtime). */
  readonly extraReadOnlyMounts?: readonly ReadOnlyMount[];
  readonly hostname?: string;
}

const BIND_READ_ONLY = ['rbind', 'ro', 'nosuid', 'nodev'];

/** Same as `runc spec`: kernel interfaces a sandbox has no business seeing or changing. */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function buildSandboxSpec(options: SandboxSpecOptions): Record<string, unknown> {
  const { limits } = options;
  const codeOptions = options.codePropagates ? [...BIND_READ_ONLY, 'rslave'] : BIND_READ_ONLY;
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: SANDBOX_UID, gid: SANDBOX_UID },
      args: [...options.args],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/tmp', 'NODE_ENV=production', 'TMPDIR=/tmp'],
      cwd: SANDBOX_CODE_DIR,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: options.hostname ?? 'sandbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      // Read-only, so a function can read its own limits (memory.limit_in_bytes) but change nothing.
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      ...options.hostSystemDirs.map((dir) => ({ destination: dir, type: 'bind', source: dir, options: BIND_READ_ONLY })),
      { destination: SANDBOX_CODE_DIR, type: 'bind', source: options.codeDir, options: codeOptions },
      { destination: SANDBOX_AGENT_DIR, type: 'bind', source: options.agentDir, options: BIND_READ_ONLY },
      ...(options.extraReadOnlyMounts ?? []).map(({ source, destination }) => ({ destination, type: 'bind', source, options: BIND_READ_ONLY })),
      { destination: SANDBOX_RUN_DIR, type: 'bind', source: options.runDir, options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'] },
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', `size=${limits.tmpMb}m`, 'mode=1777'],
      },
    ],
    linux: {
      cgroupsPath: options.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: limits.memoryBytes, swap: limits.memoryBytes },
        // See limits.ts: CPU weight and quota follow memory.
        cpu: { shares: limits.cpuShares, period: limits.cpuPeriodUs, ...(limits.cpuQuotaUs > 0 ? { quota: limits.cpuQuotaUs } : {}) },
        pids: { limit: limits.pids },
      },
      namespaces: [
        { type: 'pid' },
        options.netnsPath ? { type: 'network', path: options.netnsPath } : { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      seccomp: sandboxSeccompProfile(),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
