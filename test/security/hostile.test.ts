// Hostile functions against the real platform: each tries one way to hurt
// the host or its neighbours, and each test checks both that the act failed
// and that the host and a well-behaved "canary" function were unharmed.
// The probes that only look or poke run all at once; the ones that burn
// resources (fork bomb, memory, disk, CPU, output) run one after another,
// with the canary invoked while they rage.
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Funclet, createClient, type Client, type SandboxInfo } from '@faas/protocol';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http, type HttpAnswer } from '../support/http.js';
import { EXEC_HOLDS_STDOUT, EXEC_LEAVES_CHILD, EXEC_TIMES_OUT, HOSTILE_BUNDLE } from './hostile-functions.js';

interface FunctionSpec {
  readonly handler: string;
  /** nodejs unless said. */
  readonly runtime?: string;
  readonly memoryMb?: number;
  readonly timeoutSeconds?: number;
}

const FUNCTIONS: Record<string, FunctionSpec> = {
  canary: { handler: 'canary.handler' },
  'fork-bomb': { handler: 'fork-bomb.handler', timeoutSeconds: 20 },
  'memory-bomb': { handler: 'memory-bomb.handler' },
  // /tmp is charged to the memory cgroup: leave room for the runtime and a full /tmp.
  'fill-tmp': { handler: 'fill-dir.handler', memoryMb: 256 },
  'fill-shm': { handler: 'fill-dir.handler', memoryMb: 256 },
  'fill-run-dir': { handler: 'fill-dir.handler', memoryMb: 256 },
  'infinite-loop': { handler: 'infinite-loop.handler', timeoutSeconds: 1 },
  'never-returns': { handler: 'never-returns.handler', timeoutSeconds: 1 },
  'orphan-child': { handler: 'orphan-child.handler' },
  'double-fork': { handler: 'double-fork.handler' },
  'exec-leaves-child': { handler: EXEC_LEAVES_CHILD, runtime: 'exec' },
  'exec-holds-stdout': { handler: EXEC_HOLDS_STDOUT, runtime: 'exec' },
  'exec-times-out': { handler: EXEC_TIMES_OUT, runtime: 'exec', timeoutSeconds: 1 },
  'read-shadow': { handler: 'read-shadow.handler' },
  'read-state-dirs': { handler: 'read-state-dirs.handler' },
  'write-rootfs': { handler: 'write-rootfs.handler' },
  mount: { handler: 'mount.handler' },
  ptrace: { handler: 'ptrace.handler' },
  'raw-sockets': { handler: 'raw-sockets.handler' },
  namespaces: { handler: 'namespaces.handler' },
  kernel: { handler: 'kernel.handler' },
  'reach-platform': { handler: 'reach-platform.handler' },
  'kill-others': { handler: 'kill-others.handler' },
  'proc-view': { handler: 'proc-view.handler' },
  'cgroup-limits': { handler: 'cgroup-limits.handler' },
  'proc-sys': { handler: 'proc-sys.handler' },
  'huge-stdout': { handler: 'huge-stdout.handler', timeoutSeconds: 10 },
};

/** A canary answer slower than this means a hostile neighbour hurt it. */
const CANARY_BUDGET_MS = 2000;
const MIB = 1024 * 1024;

let platform: Platform;
let funclet: Client<typeof Funclet.method>;
let funcletPid: number;
let canaryCalls = 0;

const invoke = (name: string, event: unknown = {}): Promise<HttpAnswer> =>
  http(`${platform.httpUrl}/v1/functions/${name}/invocations`, { method: 'POST', json: event });

/** The function's result; fails the test when the call did not succeed. */
async function result(name: string, event: unknown = {}): Promise<any> {
  const answer = await invoke(name, event);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.headers.get('x-function-error'), answer.text).toBeNull();
  return answer.json;
}

/** The canary answers correctly and fast. */
async function expectCanaryHealthy(): Promise<void> {
  const n = ++canaryCalls;
  const started = performance.now();
  const answer = await invoke('canary', { n });
  const elapsedMs = performance.now() - started;
  expect(answer.status, answer.text).toBe(200);
  expect(answer.json).toMatchObject({ ok: true, echo: { n } });
  expect(elapsedMs, 'canary latency (ms)').toBeLessThan(CANARY_BUDGET_MS);
}

/** Runs the canary every 200 ms until `work` settles; each answer must be healthy. */
async function withCanaryDuring<T>(work: Promise<T>): Promise<T> {
  let settled = false;
  const watched = work.finally(() => (settled = true));
  let checks = 0;
  while (!settled) {
    await expectCanaryHealthy();
    checks += 1;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(checks).toBeGreaterThan(0);
  return watched;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function expectFuncletAlive(): void {
  expect(isAlive(funcletPid), 'funclet process alive').toBe(true);
  expect(platform.services.funclet.process.running).toBe(true);
}

const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP_V2 = existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));

/** A file of a sandbox's cgroup as the host sees it. */
const cgroupFile = (controller: string, cgroupPath: string, file: string) =>
  CGROUP_V2 ? path.join(CGROUP_ROOT, cgroupPath, file) : path.join(CGROUP_ROOT, controller, cgroupPath, file);

/** Host pids of every process in a sandbox's cgroup (empty once the cgroup is gone). */
function hostPidsIn(cgroupPath: string): number[] {
  try {
    return readFileSync(cgroupFile('pids', cgroupPath, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function sandboxesOf(name: string): Promise<SandboxInfo[]> {
  return (await funclet.listSandboxes({})).sandboxes.filter((sandbox) => sandbox.functionName === name);
}

/** The single sandbox serving a function (the tests call each hostile function one call at a time). */
async function onlySandboxOf(name: string): Promise<SandboxInfo> {
  const sandboxes = await sandboxesOf(name);
  expect(sandboxes, `sandboxes of ${name}`).toHaveLength(1);
  return sandboxes[0];
}

/** Every one of these host processes is gone, and the sandbox with them. */
async function expectAllGone(pids: readonly number[], sandbox: SandboxInfo): Promise<void> {
  expect(pids.length).toBeGreaterThan(0);
  await eventually(async () => (pids.every((pid) => !isAlive(pid)) ? true : undefined), 5000, `processes ${pids.join(', ')} to end`);
  await eventually(async () => (hostPidsIn(sandbox.cgroupPath).length === 0 ? true : undefined), 5000, 'the cgroup to empty');
  const listed = (await funclet.listSandboxes({})).sandboxes.map((s) => s.sandboxId);
  expect(listed).not.toContain(sandbox.sandboxId);
}

/** Every process in the pid namespace of a sandbox's PID 1, as the host sees them. */
function processesInPidNamespace(sandboxPid: number): Array<{ pid: number; state: string; command: string }> {
  const namespace = readlinkSync(`/proc/${sandboxPid}/ns/pid`);
  const found: Array<{ pid: number; state: string; command: string }> = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== namespace) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      found.push({ pid: Number(entry), state, command: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

function rssMib(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

beforeAll(async () => {
  platform = await startPlatform();
  funclet = createClient(Funclet, platform.addresses.funclet, { peerName: 'funclet', defaultTimeoutMs: 30_000 });
  funcletPid = platform.services.funclet.process.child.pid!;
  const upload = await http(`${platform.httpUrl}/v1/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip' },
    body: zipBundle(HOSTILE_BUNDLE),
  });
  expect(upload.status, upload.text).toBeLessThan(300);
  await Promise.all(
    Object.entries(FUNCTIONS).map(async ([name, spec]) => {
      const answer = await http(`${platform.httpUrl}/v1/functions/${name}`, {
        method: 'PUT',
        json: {
          runtime: spec.runtime ?? 'nodejs',
          handler: spec.handler,
          code: { digest: upload.json.digest },
          memoryMb: spec.memoryMb ?? 128,
          timeoutSeconds: spec.timeoutSeconds ?? 10,
        },
      });
      expect(answer.status, answer.text).toBeLessThan(300);
    }),
  );
  await expectCanaryHealthy();
});

afterAll(async () => {
  funclet?.close();
  await platform?.stop();
});

describe('probes that look and poke (run at once)', () => {
  const outcomes = new Map<string, Promise<any>>();
  const outcome = (name: string) => outcomes.get(name)!;
  let canarySandbox: SandboxInfo;

  beforeAll(async () => {
    canarySandbox = await onlySandboxOf('canary');
    const hostAddresses = Object.values(networkInterfaces())
      .flat()
      // Link-local IPv6 needs a scope the sandbox cannot name; the others are fair game.
      .filter((address) => address && !address.internal && !address.address.startsWith('fe80:'))
      .map((address) => address!.address);
    const ports = [
      Number(new URL(platform.redisUrl).port),
      Number(new URL(platform.natsUrl).port),
      ...Object.values(platform.addresses).map((address) => Number(address.split(':').pop())),
    ];
    const events: Record<string, unknown> = {
      'read-shadow': {},
      'read-state-dirs': {
        dirs: [platform.funcletStateDir, path.join(platform.workDir, 'stubs'), platform.workDir, platform.runcRoot, '/var/lib/faas', '/root'],
      },
      'write-rootfs': {},
      mount: {},
      ptrace: {},
      'raw-sockets': {},
      namespaces: {},
      kernel: {},
      'reach-platform': {
        targets: [...ports.map((port) => ({ host: '127.0.0.1', port })), ...hostAddresses.flatMap((host) => ports.slice(0, 3).map((port) => ({ host, port })))],
      },
      'kill-others': { pids: [canarySandbox.pid, funcletPid, process.pid, ...hostPidsIn(canarySandbox.cgroupPath)] },
      'proc-view': {},
      'cgroup-limits': {},
      'proc-sys': {},
    };
    for (const [name, event] of Object.entries(events)) {
      const pending = result(name, event);
      pending.catch(() => {}); // asserted in its own test
      outcomes.set(name, pending);
    }
    await Promise.allSettled(outcomes.values());
  });

  it("cannot read /etc/shadow: the sandbox's /etc has none", async () => {
    expect(await outcome('read-shadow')).toEqual({ code: 'ENOENT' });
    await expectCanaryHealthy();
  });

  it("cannot see the platform's state, the stubs blobs or root's home", async () => {
    const seen = await outcome('read-state-dirs');
    for (const dir of Object.keys(seen)) expect(seen[dir], dir).toBe('ENOENT');
    expect(Object.keys(seen)).toHaveLength(6);
  });

  it('cannot write to the root filesystem, its code, the agent or the host system directories', async () => {
    const seen = await outcome('write-rootfs');
    expect(Object.keys(seen)).toHaveLength(8);
    for (const [target, code] of Object.entries(seen)) expect(['EROFS', 'EACCES'], target).toContain(code);
    // Creating a file anywhere is refused by the read-only mounts themselves.
    for (const target of ['/hostile-probe', '/var/task/hostile-probe', '/usr/hostile-probe', '/opt/faas/hostile-probe', '/lib/hostile-probe']) {
      expect(seen[target], target).toBe('EROFS');
    }
    // And nothing appeared on the host.
    for (const file of ['/hostile-probe', '/usr/hostile-probe', '/lib/hostile-probe']) expect(existsSync(file), file).toBe(false);
    expect(readFileSync('/etc/passwd', 'utf8')).not.toContain('owned::0:0');
    const codeRoot = path.join(platform.funcletStateDir, 'code');
    const codeFiles = existsSync(codeRoot) ? readdirSync(codeRoot, { recursive: true }).map(String) : [];
    expect(codeFiles.filter((file) => file.includes('hostile-probe'))).toEqual([]);
  });

  it('cannot mount, unmount, pivot_root or chroot, even through a set-uid mount(8)', async () => {
    const seen = await outcome('mount');
    expect(seen).toMatchObject({ mount: 'EPERM', bindProc: 'EPERM', umount2: 'EPERM', pivot_root: 'EPERM', chroot: 'EPERM' });
    expect(seen.setuidMountStatus).not.toBe(0);
  });

  it('cannot ptrace or read the memory of another process', async () => {
    expect(await outcome('ptrace')).toEqual({ attach: 'EPERM', seize: 'EPERM', traceme: 'EPERM', processVmReadv: 'EPERM' });
  });

  it('cannot open raw or packet sockets', async () => {
    expect(await outcome('raw-sockets')).toEqual({ inetRaw: 'EPERM', inet6Raw: 'EPERM', packet: 'EPERM' });
  });

  it('cannot create or join namespaces, or rename its host', async () => {
    expect(await outcome('namespaces')).toEqual({
      unshareUser: 'EPERM',
      unshareMountAndNet: 'EPERM',
      cloneNewUser: 'EPERM',
      setns: 'EPERM',
      sethostname: 'EPERM',
      hostname: 'sandbox',
    });
  });

  it('cannot load kernel modules or reach kexec, bpf, perf, keyrings, userfaultfd, syslog, reboot, swap, port I/O', async () => {
    const seen = await outcome('kernel');
    for (const [call, code] of Object.entries(seen)) {
      if (code === 'not-on-this-arch') continue;
      expect(code, call).toBe('EPERM');
    }
    expect(Object.keys(seen)).toHaveLength(13);
  });

  it("cannot reach Redis, NATS or the platform's gRPC and HTTP ports, on loopback or the host's addresses", async () => {
    const seen: Record<string, string> = await outcome('reach-platform');
    expect(Object.keys(seen).length).toBeGreaterThanOrEqual(7);
    for (const [target, code] of Object.entries(seen)) {
      expect(code, target).not.toBe('connected');
      if (target.startsWith('127.0.0.1:')) expect(code, target).toBe('ECONNREFUSED');
      else expect(['ENETUNREACH', 'EHOSTUNREACH', 'ECONNREFUSED', 'ETIMEDOUT'], target).toContain(code);
    }
  });

  it("cannot kill another sandbox's processes, the funclet or the host's", async () => {
    const seen: Record<string, string> = await outcome('kill-others');
    for (const [pid, code] of Object.entries(seen)) expect(code, `kill ${pid}`).toBe('ESRCH');
    expectFuncletAlive();
    expect(isAlive(canarySandbox.pid)).toBe(true);
    expect((await onlySandboxOf('canary')).sandboxId).toBe(canarySandbox.sandboxId);
    await expectCanaryHealthy();
  });

  it('sees only its own processes in /proc, as nobody under seccomp without capabilities', async () => {
    const seen = await outcome('proc-view');
    expect(seen.pids).toContain(seen.self);
    expect(seen.pids.length).toBeLessThanOrEqual(5);
    expect(seen.pids).not.toContain(canarySandbox.pid);
    expect(seen.pids).not.toContain(funcletPid);
    expect(Math.max(...seen.pids)).toBeLessThan(1000);
    // And it runs as nobody, under seccomp, with no capabilities and no way to gain any.
    expect(seen.status).toMatchObject({ Seccomp: '2', NoNewPrivs: '1', CapEff: '0000000000000000', CapBnd: '0000000000000000' });
    expect(seen.status.Uid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
  });

  it('cannot change its cgroup limits or leave its cgroup', async () => {
    const seen: Record<string, string> = await outcome('cgroup-limits');
    for (const [knob, code] of Object.entries(seen)) expect(['EROFS', 'EACCES'], knob).toContain(code);
    const sandbox = await onlySandboxOf('cgroup-limits');
    const limit = CGROUP_V2
      ? readFileSync(cgroupFile('memory', sandbox.cgroupPath, 'memory.max'), 'utf8').trim()
      : readFileSync(cgroupFile('memory', sandbox.cgroupPath, 'memory.limit_in_bytes'), 'utf8').trim();
    expect(Number(limit)).toBe(128 * MIB);
  });

  it('cannot trigger sysrq, write kernel settings or read kernel memory', async () => {
    const seen = await outcome('proc-sys');
    for (const knob of ['kernelHostname', 'dropCaches', 'corePattern']) expect(['EROFS', 'EACCES'], knob).toContain(seen[knob]);
    // Kernels built without magic SysRq (this VM's) have no trigger at all.
    expect(existsSync('/proc/sysrq-trigger') ? ['EROFS', 'EACCES'] : ['ENOENT']).toContain(seen.sysrqTrigger);
    // Masked: /proc/kcore and /proc/keys read as empty (or are refused), where the kernel has them.
    const masked = (file: string) => (existsSync(file) ? [0, 'EACCES', 'EPERM'] : ['ENOENT']);
    expect(masked('/proc/kcore')).toContain(seen.kcoreBytes);
    expect(masked('/proc/keys')).toContain(seen.keys);
    expect(readFileSync('/proc/sys/kernel/core_pattern', 'utf8')).not.toContain('/tmp/owned');
    await expectCanaryHealthy();
  });
});

describe('acts that burn resources (one at a time, the canary watching)', () => {
  it('fork bomb: the pids limit holds, spawning fails with EAGAIN, and recycling kills every process', async () => {
    const seen = await withCanaryDuring(result('fork-bomb', { settleMs: 1500 }));
    expect(seen.spawnLoop.error, JSON.stringify(seen)).toBe('EAGAIN');
    expect(seen.spawnLoop.started).toBeLessThan(Number(seen.pidsMax));
    expect(Number(seen.pidsMax)).toBeLessThanOrEqual(1024);
    expect(seen.pidsCurrent).toBeLessThanOrEqual(Number(seen.pidsMax));
    expect(seen.pidsCurrent, 'the shell bomb fills the pids limit').toBeGreaterThan(Number(seen.pidsMax) / 2);

    // The bomb is still going inside; recycle the sandbox and look for survivors on the host.
    const sandbox = await onlySandboxOf('fork-bomb');
    const pids = hostPidsIn(sandbox.cgroupPath);
    expect(pids.length).toBeGreaterThan(10);
    await funclet.destroySandbox({ sandboxId: sandbox.sandboxId });
    await expectAllGone(pids, sandbox);
    expectFuncletAlive();
    await expectCanaryHealthy();
  });

  it('memory bomb: OutOfMemory, and the next call gets a fresh, healthy sandbox', async () => {
    const before = await result('memory-bomb', {});
    const sandbox = await onlySandboxOf('memory-bomb');
    const pids = hostPidsIn(sandbox.cgroupPath);

    const bomb = await withCanaryDuring(invoke('memory-bomb', { bomb: true }));
    expect(bomb.status).toBe(200);
    expect(bomb.headers.get('x-function-error'), bomb.text).toBe('OutOfMemory');
    await expectAllGone(pids, sandbox);

    const after = await result('memory-bomb', {});
    expect(after.healthy).toBe(true);
    expect((await onlySandboxOf('memory-bomb')).sandboxId).not.toBe(sandbox.sandboxId);
    expect(before.healthy).toBe(true);
    expectFuncletAlive();
  });

  it('filling /tmp stops with ENOSPC at the tmpfs size', async () => {
    const seen = await withCanaryDuring(result('fill-tmp', { file: '/tmp/fill', stopAtMib: 512 }));
    expect(seen.code).toBe('ENOSPC');
    expect(seen.mib).toBeGreaterThanOrEqual(32);
    expect(seen.mib).toBeLessThanOrEqual(64);
  });

  it('filling /dev/shm stops with ENOSPC at its size', async () => {
    const seen = await result('fill-shm', { file: '/dev/shm/fill', stopAtMib: 512 });
    expect(seen.code).toBe('ENOSPC');
    expect(seen.mib).toBeLessThanOrEqual(64);
  });

  // /run/faas (the agent's socket directory) is a writable bind of a folder
  // in the funclet's sandboxes tmpfs, which every sandbox's bundle shares;
  // the funclet locks it once the agent's socket exists, before any
  // function code runs.
  it('filling /run/faas (in the tmpfs all sandboxes share) is refused', async () => {
    const seen = await result('fill-run-dir', { file: '/run/faas/fill', stopAtMib: 128 });
    expect(seen).toEqual({ code: 'EACCES', mib: 0 });
  });

  it('infinite loop: Timeout, the sandbox is killed, the next call is healthy', async () => {
    await result('infinite-loop', { loop: false });
    const sandbox = await onlySandboxOf('infinite-loop');
    const pids = hostPidsIn(sandbox.cgroupPath);

    const started = performance.now();
    const looping = await withCanaryDuring(invoke('infinite-loop', { loop: true }));
    expect(looping.headers.get('x-function-error'), looping.text).toBe('Timeout');
    expect(performance.now() - started).toBeLessThan(5000);
    await expectAllGone(pids, sandbox);
    expect((await result('infinite-loop', { loop: false })).healthy).toBe(true);
  });

  it('a handler that never returns: Timeout, and the next call is healthy', async () => {
    await result('never-returns', {});
    const sandbox = await onlySandboxOf('never-returns');
    const pids = hostPidsIn(sandbox.cgroupPath);

    const hanging = await invoke('never-returns', { hang: true });
    expect(hanging.headers.get('x-function-error'), hanging.text).toBe('Timeout');
    await expectAllGone(pids, sandbox);
    expect(await result('never-returns', {})).toEqual({ healthy: true });
  });

  // What is asserted: the child busy-looping after the handler returned stays
  // in the sandbox's cgroup (so under its CPU quota: the canary stays fast),
  // and destroying the sandbox (what the controller does when it recycles an
  // idle one) kills it: no process of the sandbox is left on the host.
  it('a busy child that outlives its handler is throttled and dies with its sandbox', async () => {
    const { childPid } = await result('orphan-child', {});
    expect(childPid).toBeGreaterThan(1);
    const sandbox = await onlySandboxOf('orphan-child');
    const pids = hostPidsIn(sandbox.cgroupPath);
    expect(pids.length, 'the agent and its busy child').toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 5; i += 1) {
      await expectCanaryHealthy();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const throttledPeriods = () => Number(/nr_throttled (\d+)/.exec(readFileSync(cgroupFile('cpu', sandbox.cgroupPath, 'cpu.stat'), 'utf8'))?.[1]);
    await eventually(async () => (throttledPeriods() > 0 ? true : undefined), 3000, 'the CPU quota to throttle the busy child');
    await funclet.destroySandbox({ sandboxId: sandbox.sandboxId });
    await expectAllGone(pids, sandbox);
  });

  it('50 double-forked children that exit at once leave no zombie: PID 1 reaps them, and the sandbox keeps serving', async () => {
    expect(await result('double-fork', {})).toEqual({ pid1: '/usr/bin/tini' });
    const sandbox = await onlySandboxOf('double-fork');
    const zombies = () => processesInPidNamespace(sandbox.pid).filter((process) => process.state === 'Z');
    expect(await result('double-fork', { children: 50 })).toEqual({ pid1: '/usr/bin/tini' });
    await eventually(async () => (zombies().length === 0 ? true : undefined), 5000, 'no zombie in the sandbox').catch(() => {
      throw new Error(`zombies left in the sandbox: ${JSON.stringify(zombies())}`);
    });
    expect(await result('double-fork', {})).toEqual({ pid1: '/usr/bin/tini' });
    expect((await onlySandboxOf('double-fork')).sandboxId).toBe(sandbox.sandboxId);
  });

  it('exec: a background child that ignores SIGTERM dies when its call ends, and the sandbox keeps serving', async () => {
    const childPid = await result('exec-leaves-child', {});
    expect(childPid).toBeGreaterThan(1);
    const sandbox = await onlySandboxOf('exec-leaves-child');
    const sleeping = () => processesInPidNamespace(sandbox.pid).filter((process) => process.command.startsWith('sleep') && process.state !== 'Z');
    await eventually(async () => (sleeping().length === 0 ? true : undefined), 5000, "the call's child to be gone").catch(() => {
      throw new Error(`left running after the call: ${JSON.stringify(sleeping())}`);
    });
    expect(typeof (await result('exec-leaves-child', {}))).toBe('number');
  });

  it('exec: a call whose background child holds stdout ends when its command does, and takes the child with it', async () => {
    expect(await result('exec-holds-stdout', {})).toBe('started\n');
    const sandbox = await onlySandboxOf('exec-holds-stdout');
    const sleeping = () => processesInPidNamespace(sandbox.pid).filter((process) => process.command.startsWith('sleep') && process.state !== 'Z');
    await eventually(async () => (sleeping().length === 0 ? true : undefined), 5000, "the call's child to be gone");
  });

  it('exec: a call that times out takes every process it started with it, a child that ignores SIGTERM included', async () => {
    expect(await result('exec-times-out', {})).toBe('ok\n');
    const sandbox = await onlySandboxOf('exec-times-out');
    const hanging = invoke('exec-times-out', { hang: true });
    const sleeping = () => processesInPidNamespace(sandbox.pid).filter((process) => process.command === 'sleep 300' && process.state !== 'Z');
    await eventually(async () => (sleeping().length === 2 ? true : undefined), 5000, 'the command and its child to run');
    const pids = hostPidsIn(sandbox.cgroupPath);
    const answer = await hanging;
    expect(answer.headers.get('x-function-error'), answer.text).toBe('Timeout');
    await expectAllGone(pids, sandbox);
    expect(await result('exec-times-out', {})).toBe('ok\n');
  });

  it('huge output: the call ends in bounds, the funclet stays small, the canary answers', async () => {
    const rssBefore = rssMib(funcletPid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMib(funcletPid))), 100);
    const started = performance.now();
    try {
      const answer = await withCanaryDuring(invoke('huge-stdout', { mib: 200 }));
      expect(answer.status).toBe(200);
      // Either it got its 200 MiB out, or the timeout stopped it.
      const error = answer.headers.get('x-function-error');
      if (error) expect(error, answer.text).toBe('Timeout');
      else expect(answer.json.written).toBeGreaterThanOrEqual(200 * MIB);
    } finally {
      clearInterval(sampler);
    }
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(rssPeak - rssBefore, `funclet RSS grew from ${rssBefore.toFixed(0)} MiB to ${rssPeak.toFixed(0)} MiB`).toBeLessThan(200);
    expectFuncletAlive();
    await expectCanaryHealthy();
  });
});
