/**
 * The OCI runtime spec (config.json) of a sandbox. The root filesystem is an
 * empty read-only directory; the host's system directories are bound into it
 * read-only, so no image is needed. /etc is the sandbox's own
 * (sandbox-etc.ts), and everything the function may write is a size-limited
 * tmpfs.
 *
 * What the sandbox can learn of its host is kept to the system folders it
 * runs: its own cgroup namespace (so /proc/self/cgroup and the cgroup mounts
 * say "/", not /faas/<funclet>/<container>), bundles and shared files staged
 * in a tmpfs (see host-mounts.ts), code as overlays (mount-helper.ts),
 * /usr/local masked (the host's own installs, not the distribution's), and
 * the kernel's boot id masked (shared by every sandbox of a host, it would
 * tell two tenants they are neighbours).
 */

import { SANDBOX_HOSTNAME } from './sandbox-etc.js';
import type { SandboxLimits } from './limits.js';
import { sandboxSeccompProfile } from './seccomp.js';

/** The unprivileged uid/gid ("nobody") every sandbox process runs as. */
export const SANDBOX_UID = 65534;
export const SANDBOX_CODE_DIR = '/var/task';
export const SANDBOX_AGENT_DIR = '/opt/faas';
export const SANDBOX_RUN_DIR = '/run/faas';
/** Where a custom runtime's bundle appears (read-only) in its sandboxes. */
export const SANDBOX_RUNTIME_DIR = '/opt/runtime';
/** Where a function's secrets appear, one file each, as on OpenFaaS. */
export const SANDBOX_SECRETS_DIR = '/var/openfaas/secrets';

export interface SandboxSpecOptions {
  /** Host directories bound read-only at the same path (e.g. /usr, /lib, /lib64, /bin, /sbin). */
  readonly hostSystemDirs: readonly string[];
  /** The sandbox's own /etc (staged by the funclet), bound read-only. */
  readonly etcDir: string;
  /**
   * PID 1, run ahead of `args`: it reaps every orphan (a double-forked
   * grandchild would otherwise stay a zombie until the pids limit stops the
   * sandbox), forwards signals to the agent and exits with it.
   */
  readonly init: string;
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
  /**
   * Host folder bound as a slave at /opt/runtime, onto which a custom
   * runtime's bundle is mounted when the sandbox is specialised (as the code).
   */
  readonly runtimeMountPoint?: string;
  /**
   * Host folder bound as a slave at /var/openfaas/secrets, onto which a
   * read-only view of the function's secret files is mounted when the
   * sandbox is specialised for a function that lists secrets.
   */
  readonly secretsMountPoint?: string;
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
  '/proc/sys/kernel/random/boot_id',
  '/usr/local',
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
      args: [options.init, '--', ...options.args],
      env: ['PATH=/usr/bin:/bin', 'HOME=/tmp', 'NODE_ENV=production', 'TMPDIR=/tmp'],
      cwd: SANDBOX_CODE_DIR,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: options.hostname ?? SANDBOX_HOSTNAME,
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
      { destination: '/etc', type: 'bind', source: options.etcDir, options: BIND_READ_ONLY },
      { destination: SANDBOX_CODE_DIR, type: 'bind', source: options.codeDir, options: codeOptions },
      { destination: SANDBOX_AGENT_DIR, type: 'bind', source: options.agentDir, options: BIND_READ_ONLY },
      ...(options.runtimeMountPoint
        ? [{ destination: SANDBOX_RUNTIME_DIR, type: 'bind', source: options.runtimeMountPoint, options: [...BIND_READ_ONLY, 'rslave'] }]
        : []),
      ...(options.secretsMountPoint
        ? [{ destination: SANDBOX_SECRETS_DIR, type: 'bind', source: options.secretsMountPoint, options: [...BIND_READ_ONLY, 'noexec', 'rslave'] }]
        : []),
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
        { type: 'cgroup' },
      ],
      seccomp: sandboxSeccompProfile(),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
