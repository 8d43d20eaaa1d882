// The code of the hostile functions: one file per act, all in one bundle.
// Each handler tries its act and reports what the kernel answered (an errno
// code, or 'ok' when the act worked), so the test can tell "refused" from
// "it did not even try". Parameters the host knows (ports, pids, paths) come
// in the event.

/** Runs one function of /var/task/syscalls.py and returns its JSON answer. */
const PYTHON_HELPER = `
const { execFileSync } = require('node:child_process');
const python = (act, ...args) =>
  JSON.parse(execFileSync('/usr/bin/python3', ['/var/task/syscalls.py', act, ...args.map(String)], { encoding: 'utf8', timeout: 5000 }));
`;

/** Raw syscalls Node cannot make, from Python's ctypes; numbers per architecture. */
const SYSCALLS_PY = `
import ctypes, errno, json, os, platform, socket, sys

NR = {
    'x86_64': dict(mount=165, umount2=166, pivot_root=155, chroot=161, ptrace=101, process_vm_readv=310, unshare=272,
                   setns=308, clone=56, init_module=175, finit_module=313, kexec_load=246, bpf=321, perf_event_open=298,
                   keyctl=250, userfaultfd=323, syslog=103, reboot=169, swapon=167, iopl=172, open_by_handle_at=304,
                   personality=135),
    'aarch64': dict(mount=40, umount2=39, pivot_root=41, chroot=51, ptrace=117, process_vm_readv=270, unshare=97,
                    setns=268, clone=220, init_module=105, finit_module=273, kexec_load=104, bpf=280, perf_event_open=241,
                    keyctl=219, userfaultfd=282, syslog=116, reboot=142, swapon=224, open_by_handle_at=265,
                    personality=92),
}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)

def name_of(code):
    return errno.errorcode.get(code, str(code))

def raw(name, *args):
    if name not in NR:
        return 'not-on-this-arch'
    converted = [ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args]
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(NR[name]), *converted)
    if result == 0 and name == 'clone':
        os._exit(0)  # the child of a clone that worked: leave at once
    return 'ok' if result >= 0 else name_of(ctypes.get_errno())

def attempt(action):
    try:
        action()
        return 'ok'
    except OSError as error:
        return name_of(error.errno)

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, SIGCHLD = 0x00020000, 0x10000000, 0x40000000, 17

def mount():
    os.makedirs('/tmp/mnt', exist_ok=True)
    return {
        'mount': raw('mount', b'none', b'/tmp/mnt', b'tmpfs', 0, 0),
        'bindProc': raw('mount', b'/proc', b'/tmp/mnt', b'', 0x1000, 0),  # MS_BIND
        'umount2': raw('umount2', b'/var/task', 2),  # MNT_DETACH
        'pivot_root': raw('pivot_root', b'/tmp', b'/tmp/mnt'),
        'chroot': raw('chroot', b'/tmp'),
    }

def ptrace():
    parent = os.getppid()
    attached = raw('ptrace', 16, parent, 0, 0)  # PTRACE_ATTACH the runtime agent
    if attached == 'ok':
        raw('ptrace', 17, parent, 0, 0)  # PTRACE_DETACH
    return {
        'attach': attached,
        'seize': raw('ptrace', 0x4206, parent, 0, 0),
        'traceme': raw('ptrace', 0, 0, 0, 0),
        'processVmReadv': raw('process_vm_readv', parent, 0, 0, 0, 0, 0),
    }

def raw_sockets():
    return {
        'inetRaw': attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()),
        'inet6Raw': attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6).close()),
        'packet': attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()),
    }

def namespaces():
    with open('/proc/1/ns/net') as ns:
        setns = raw('setns', ns.fileno(), 0)
    return {
        'unshareUser': raw('unshare', CLONE_NEWUSER),
        'unshareMountAndNet': raw('unshare', CLONE_NEWNS | CLONE_NEWNET),
        'cloneNewUser': raw('clone', CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
        'setns': setns,
        'sethostname': attempt(lambda: socket.sethostname('owned')),
        'hostname': socket.gethostname(),
    }

def kernel():
    with open('/dev/null', 'rb') as null:
        finit = raw('finit_module', null.fileno(), b'', 0)
    return {
        'init_module': raw('init_module', 0, 0, b''),
        'finit_module': finit,
        'kexec_load': raw('kexec_load', 0, 0, 0, 0),
        'bpf': raw('bpf', 0, 0, 0),
        'perf_event_open': raw('perf_event_open', 0, 0, -1, -1, 0),
        'keyctl': raw('keyctl', 0, -3, 0, 0, 0),  # KEYCTL_GET_KEYRING_ID of the session keyring
        'userfaultfd': raw('userfaultfd', 0),
        'syslog': raw('syslog', 10, 0, 0),  # SYSLOG_ACTION_SIZE_BUFFER
        'reboot': raw('reboot', 0xfee1dead, 672274793, 0, 0),  # LINUX_REBOOT_CMD_CAD_OFF
        'swapon': raw('swapon', b'/tmp/swap', 0),
        'iopl': raw('iopl', 3),
        'open_by_handle_at': raw('open_by_handle_at', -100, 0, 0),
        'personality': raw('personality', 0x0400000),  # READ_IMPLIES_EXEC
    }

ACTS = {'mount': mount, 'ptrace': ptrace, 'raw-sockets': raw_sockets, 'namespaces': namespaces, 'kernel': kernel}
print(json.dumps(ACTS[sys.argv[1]]()))
`;

export const CANARY = `
export const handler = async (event) => ({ ok: true, echo: event, pid: process.pid });
`;

const FORK_BOMB = `
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const cgroupValue = (file) => { try { return readFileSync('/sys/fs/cgroup/pids/' + file, 'utf8').trim(); } catch { return readFileSync('/sys/fs/cgroup/' + file, 'utf8').trim(); } };
const started = (child) => new Promise((resolve) => { child.once('spawn', () => resolve(undefined)); child.once('error', (error) => resolve(error.code)); });
exports.handler = async (event) => {
  // Node's spawn loop: children that never end, until the kernel says no.
  const spawnLoop = { started: 0, error: undefined };
  const children = [];
  while (spawnLoop.started < 5000) {
    let error;
    try {
      const child = spawn('/bin/sleep', ['600'], { detached: true, stdio: 'ignore' });
      children.push(child);
      error = await started(child);
    } catch (thrown) {
      error = thrown.code;
    }
    if (error) { spawnLoop.error = error; break; }
    spawnLoop.started += 1;
  }
  const afterLoop = Number(cgroupValue('pids.current'));
  for (const child of children) child.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Then the classic shell bomb, left running in the background (bash retries a fork that failed, so it never dies out).
  spawn('/bin/bash', ['-c', ':(){ :|:& };:'], { detached: true, stdio: 'ignore' }).once('error', () => {}).unref();
  await new Promise((resolve) => setTimeout(resolve, event.settleMs));
  return { spawnLoop, afterLoop, pidsCurrent: Number(cgroupValue('pids.current')), pidsMax: cgroupValue('pids.max') };
};
`;

const MEMORY_BOMB = `
exports.handler = async (event) => {
  if (!event.bomb) return { healthy: true, pid: process.pid };
  const hoard = [];
  for (;;) hoard.push(Buffer.alloc(16 * 1024 * 1024, 1));
};
`;

const FILL_DIR = `
import { closeSync, openSync, writeSync } from 'node:fs';
export const handler = async (event) => {
  const chunk = Buffer.alloc(1024 * 1024, 120);
  let fd;
  let mib = 0;
  try {
    fd = openSync(event.file, 'w');
    while (mib < event.stopAtMib) {
      writeSync(fd, chunk);
      mib += 1;
    }
    return { code: 'ok', mib };
  } catch (error) {
    return { code: error.code, mib };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};
`;

const INFINITE_LOOP = `
exports.handler = async (event) => {
  if (event.loop) for (;;) {}
  return { healthy: true, pid: process.pid };
};
`;

const NEVER_RETURNS = `
export const handler = async (event) => {
  if (event.hang) await new Promise(() => {});
  return { healthy: true };
};
`;

const ORPHAN_CHILD = `
const { spawn } = require('node:child_process');
exports.handler = async () => {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { detached: true, stdio: 'ignore' });
  child.unref();
  return { childPid: child.pid };
};
`;

// 50 double forks: each sh starts a subshell that puts \`true\` in the
// background and exits, so \`true\` is an orphan, reparented to PID 1, and
// a zombie once it exits unless PID 1 reaps it.
const DOUBLE_FORK = `
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const doubleFork = () => new Promise((resolve) => spawn('/bin/sh', ['-c', '( /bin/true & )'], { stdio: 'ignore' }).once('exit', resolve));
exports.handler = async (event) => {
  await Promise.all(Array.from({ length: event.children ?? 0 }, doubleFork));
  return { pid1: readFileSync('/proc/1/cmdline', 'utf8').split('\\0')[0] };
};
`;

/** exec: a background child that ignores SIGTERM and lets go of stdout; the call prints its pid. */
export const EXEC_LEAVES_CHILD = `(trap '' TERM; exec sleep 300) </dev/null >/dev/null 2>&1 & echo $!`;
/** exec: a background child that ignores SIGTERM and keeps stdout open. */
export const EXEC_HOLDS_STDOUT = `(trap '' TERM; exec sleep 300) & echo started`;
/** exec: with `{"hang": true}` on stdin, a background child that ignores SIGTERM, then a command that outlives the call's timeout. */
export const EXEC_TIMES_OUT = `grep -q hang && { (trap '' TERM; exec sleep 300) </dev/null >/dev/null 2>&1 & sleep 300; }; echo ok`;

const READ_SHADOW = `
const { readFileSync } = require('node:fs');
exports.handler = async () => {
  try {
    return { code: 'ok', bytes: readFileSync('/etc/shadow').length };
  } catch (error) {
    return { code: error.code };
  }
};
`;

const READ_STATE_DIRS = `
import { readdirSync } from 'node:fs';
export const handler = async (event) => {
  const seen = {};
  for (const dir of event.dirs) {
    try {
      seen[dir] = readdirSync(dir);
    } catch (error) {
      seen[dir] = error.code;
    }
  }
  return seen;
};
`;

const WRITE_ROOTFS = `
const { appendFileSync, mkdirSync, writeFileSync } = require('node:fs');
const attempt = (act) => { try { act(); return 'ok'; } catch (error) { return error.code; } };
exports.handler = async () => ({
  '/hostile-probe': attempt(() => writeFileSync('/hostile-probe', 'x')),
  '/var/task/hostile-probe': attempt(() => writeFileSync('/var/task/hostile-probe', 'x')),
  '/var/task/canary.mjs': attempt(() => appendFileSync('/var/task/canary.mjs', 'x')),
  '/usr/hostile-probe': attempt(() => writeFileSync('/usr/hostile-probe', 'x')),
  '/usr/bin/node': attempt(() => appendFileSync('/usr/bin/node', 'x')),
  '/etc/passwd': attempt(() => appendFileSync('/etc/passwd', 'owned::0:0::/:/bin/sh')),
  '/opt/faas/hostile-probe': attempt(() => writeFileSync('/opt/faas/hostile-probe', 'x')),
  '/lib/hostile-probe': attempt(() => mkdirSync('/lib/hostile-probe')),
});
`;

const MOUNT = `${PYTHON_HELPER}
const { spawnSync } = require('node:child_process');
exports.handler = async () => {
  // mount(8) is set-uid root on the host; no-new-privileges keeps it nobody.
  const setuidMount = spawnSync('/usr/bin/mount', ['-t', 'tmpfs', 'none', '/tmp'], { encoding: 'utf8' });
  return { ...python('mount'), setuidMountStatus: setuidMount.status, setuidMountSaid: (setuidMount.stderr || '').trim() };
};
`;

const PTRACE = `${PYTHON_HELPER}
exports.handler = async () => python('ptrace');
`;

const RAW_SOCKETS = `${PYTHON_HELPER}
exports.handler = async () => python('raw-sockets');
`;

const NAMESPACES = `${PYTHON_HELPER}
exports.handler = async () => python('namespaces');
`;

const KERNEL = `${PYTHON_HELPER}
exports.handler = async () => python('kernel');
`;

const REACH_PLATFORM = `
import net from 'node:net';
const tryConnect = (host, port) =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (outcome) => { clearTimeout(timer); socket.destroy(); resolve(outcome); };
    const timer = setTimeout(() => done('ETIMEDOUT'), 1500);
    socket.once('connect', () => done('connected'));
    socket.once('error', (error) => done(error.code));
  });
export const handler = async (event) => {
  const outcomes = {};
  await Promise.all(event.targets.map(async ({ host, port }) => (outcomes[host + ':' + port] = await tryConnect(host, port))));
  return outcomes;
};
`;

const KILL_OTHERS = `
exports.handler = async (event) => {
  const outcomes = {};
  for (const pid of event.pids) {
    try {
      process.kill(pid, 'SIGKILL');
      outcomes[pid] = 'ok';
    } catch (error) {
      outcomes[pid] = error.code;
    }
  }
  return outcomes;
};
`;

const PROC_VIEW = `
const { readdirSync, readFileSync } = require('node:fs');
exports.handler = async () => {
  const pids = readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name)).map(Number);
  const status = Object.fromEntries(
    readFileSync('/proc/self/status', 'utf8').split('\\n').filter(Boolean).map((line) => line.split(/:\\s+/)),
  );
  return { pids, self: process.pid, status };
};
`;

const CGROUP_LIMITS = `
const { existsSync, writeFileSync } = require('node:fs');
const attempt = (file, value) => { try { writeFileSync(file, value); return 'ok'; } catch (error) { return error.code; } };
exports.handler = async () => {
  const v1 = existsSync('/sys/fs/cgroup/memory');
  return v1
    ? {
        memory: attempt('/sys/fs/cgroup/memory/memory.limit_in_bytes', '10737418240'),
        memsw: attempt('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes', '10737418240'),
        pids: attempt('/sys/fs/cgroup/pids/pids.max', 'max'),
        cpuQuota: attempt('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '-1'),
        escape: attempt('/sys/fs/cgroup/memory/cgroup.procs', '0'),
      }
    : {
        memory: attempt('/sys/fs/cgroup/memory.max', 'max'),
        pids: attempt('/sys/fs/cgroup/pids.max', 'max'),
        cpuQuota: attempt('/sys/fs/cgroup/cpu.max', 'max'),
        escape: attempt('/sys/fs/cgroup/cgroup.procs', '0'),
      };
};
`;

const PROC_SYS = `
const { readFileSync, writeFileSync } = require('node:fs');
const attempt = (act) => { try { const value = act(); return value === undefined ? 'ok' : value; } catch (error) { return error.code; } };
exports.handler = async () => ({
  sysrqTrigger: attempt(() => writeFileSync('/proc/sysrq-trigger', 'c')),
  kernelHostname: attempt(() => writeFileSync('/proc/sys/kernel/hostname', 'owned')),
  dropCaches: attempt(() => writeFileSync('/proc/sys/vm/drop_caches', '3')),
  kcoreBytes: attempt(() => readFileSync('/proc/kcore').length),
  keys: attempt(() => readFileSync('/proc/keys', 'utf8').length),
  // The classic escape: a core_pattern pipe runs a program as root on the host.
  corePattern: attempt(() => writeFileSync('/proc/sys/kernel/core_pattern', '|/tmp/owned')),
});
`;

const HUGE_STDOUT = `
const { writeSync } = require('node:fs');
const pause = () => new Promise((resolve) => setTimeout(resolve, 1));
exports.handler = async (event) => {
  const chunk = Buffer.alloc(1024 * 1024, 121);
  const lines = Buffer.from(('y'.repeat(99) + '\\n').repeat(10 * 1024));
  const half = (event.mib / 2) * 1024 * 1024;
  // Through process.stdout and stderr (what the runtime captures), honouring back-pressure...
  let viaStreams = 0;
  while (viaStreams < half) {
    const stream = viaStreams % 2 ? process.stderr : process.stdout;
    if (!stream.write(viaStreams % 3 ? chunk : lines)) await new Promise((resolve) => stream.once('drain', resolve));
    viaStreams += chunk.length;
  }
  // ...and straight to file descriptor 1, behind the runtime's back: 1 MiB without a newline at a time.
  let viaFd = 0;
  while (viaFd < half) {
    try {
      viaFd += writeSync(1, chunk);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      await pause();
    }
  }
  return { written: viaStreams + viaFd };
};
`;

/** Every file of the hostile bundle. */
export const HOSTILE_BUNDLE: Record<string, string> = {
  'syscalls.py': SYSCALLS_PY,
  'canary.mjs': CANARY,
  'fork-bomb.js': FORK_BOMB,
  'memory-bomb.js': MEMORY_BOMB,
  'fill-dir.mjs': FILL_DIR,
  'infinite-loop.js': INFINITE_LOOP,
  'never-returns.mjs': NEVER_RETURNS,
  'orphan-child.js': ORPHAN_CHILD,
  'double-fork.js': DOUBLE_FORK,
  'read-shadow.js': READ_SHADOW,
  'read-state-dirs.mjs': READ_STATE_DIRS,
  'write-rootfs.js': WRITE_ROOTFS,
  'mount.js': MOUNT,
  'ptrace.js': PTRACE,
  'raw-sockets.js': RAW_SOCKETS,
  'namespaces.js': NAMESPACES,
  'kernel.js': KERNEL,
  'reach-platform.mjs': REACH_PLATFORM,
  'kill-others.js': KILL_OTHERS,
  'proc-view.js': PROC_VIEW,
  'cgroup-limits.js': CGROUP_LIMITS,
  'proc-sys.js': PROC_SYS,
  'huge-stdout.js': HUGE_STDOUT,
};
