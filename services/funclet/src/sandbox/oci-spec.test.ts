import { describe, expect, it } from 'vitest';
import { limitsFor } from './limits.js';
import { buildSandboxSpec } from './oci-spec.js';

const spec = buildSandboxSpec({
  hostSystemDirs: ['/usr', '/lib'],
  etcDir: '/state/sandboxes/etc',
  init: '/usr/bin/tini',
  codeDir: '/state/code/abc',
  agentDir: '/state/sandboxes/agent',
  runDir: '/state/sandboxes/x/run',
  args: ['/usr/bin/node', '/opt/faas/node-agent.js'],
  limits: limitsFor(256, { hostCores: 2 }),
  cgroupsPath: '/faas/f1/faas-f1-1',
  netnsPath: '/run/netns/faas-f1-net3',
  codePropagates: true,
}) as any;

const mount = (destination: string) => spec.mounts.find((m: { destination: string }) => m.destination === destination);

describe('sandbox OCI spec', () => {
  it('runs the agent under an init, unprivileged, without capabilities or new privileges', () => {
    expect(spec.process.user).toEqual({ uid: 65534, gid: 65534 });
    expect(spec.process.args).toEqual(['/usr/bin/tini', '--', '/usr/bin/node', '/opt/faas/node-agent.js']);
    expect(spec.process.cwd).toBe('/var/task');
    expect(spec.process.noNewPrivileges).toBe(true);
    for (const set of Object.values(spec.process.capabilities)) expect(set).toEqual([]);
    expect(spec.process.env).toContain('HOME=/tmp');
  });

  it('has a read-only root with read-only host dirs, code and agent, and a writable socket dir', () => {
    expect(spec.root).toEqual({ path: 'rootfs', readonly: true });
    for (const dir of ['/usr', '/lib']) expect(mount(dir)).toMatchObject({ type: 'bind', source: dir, options: expect.arrayContaining(['ro']) });
    // Its own /etc, never the host's.
    expect(mount('/etc')).toMatchObject({ type: 'bind', source: '/state/sandboxes/etc', options: expect.arrayContaining(['ro']) });
    expect(mount('/opt/runtime')).toBeUndefined();
    // rslave: the pool binds a function's code onto the source later, and it must show up inside.
    expect(mount('/var/task')).toMatchObject({ source: '/state/code/abc', options: expect.arrayContaining(['ro', 'rbind', 'rslave']) });
    expect(mount('/opt/faas')).toMatchObject({ source: '/state/sandboxes/agent', options: expect.arrayContaining(['ro']) });
    expect(mount('/run/faas')).toMatchObject({ source: '/state/sandboxes/x/run', options: expect.arrayContaining(['rw']) });
    expect(mount('/run/faas').options).not.toContain('ro');
    expect(mount('/tmp')).toMatchObject({ type: 'tmpfs', options: expect.arrayContaining(['size=64m', 'mode=1777']) });
    expect(mount('/sys/fs/cgroup').options).toContain('ro');
  });

  it('limits memory to memory_mb without extra swap, in its own cgroup and namespaces', () => {
    expect(spec.linux.resources.memory).toEqual({ limit: 256 * 1024 * 1024, swap: 256 * 1024 * 1024 });
    expect(spec.linux.resources.pids.limit).toBe(256);
    expect(spec.linux.resources.cpu).toEqual({ shares: 256, period: 100_000, quota: 25_000 });
    expect(spec.linux.cgroupsPath).toBe('/faas/f1/faas-f1-1');
    // A cgroup namespace too, so the sandbox sees "/" as its cgroup, not the funclet's path.
    expect(spec.linux.namespaces.map((n: { type: string }) => n.type).sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    // The network namespace is a pooled one, joined by path, never created by runc.
    expect(spec.linux.namespaces.find((n: { type: string }) => n.type === 'network')).toEqual({ type: 'network', path: '/run/netns/faas-f1-net3' });
    expect(spec.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/usr/local', '/proc/sys/kernel/random/boot_id']));
    expect(spec.process.env.find((entry: string) => entry.startsWith('PATH='))).not.toContain('/usr/local');
    expect(spec.linux.readonlyPaths).toContain('/proc/sys');
  });
});

describe('a custom runtime sandbox spec', () => {
  it('binds /opt/runtime as a slave of its mount point, so the bundle mounted there later shows inside', () => {
    const custom = buildSandboxSpec({
      hostSystemDirs: ['/usr'],
      etcDir: '/s/etc',
      init: '/usr/bin/tini',
      codeDir: '/s/b/code',
      agentDir: '/s/agent',
      runDir: '/s/b/run',
      args: ['/usr/bin/node'],
      limits: limitsFor(128, { hostCores: 2 }),
      cgroupsPath: '/faas/f1/faas-f1-2',
      runtimeMountPoint: '/s/b/runtime',
    }) as any;
    const runtime = custom.mounts.find((m: { destination: string }) => m.destination === '/opt/runtime');
    expect(runtime).toMatchObject({ type: 'bind', source: '/s/b/runtime', options: expect.arrayContaining(['ro', 'rslave']) });
  });
});
