import { describe, expect, it } from 'vitest';
import { ALLOWED_SYSCALLS, DENIED_SYSCALLS, sandboxSeccompProfile, type SeccompArg, type SeccompProfile } from './seccomp.js';

const EPERM = 1;
const ENOSYS = 38;

/** What the kernel would answer a call, following the OCI profile's rules as libseccomp compiles them. */
function verdict(profile: SeccompProfile, name: string, args: readonly number[] = []): 'allow' | number {
  const matches = (arg: SeccompArg) => {
    const actual = BigInt(args[arg.index] ?? 0);
    switch (arg.op) {
      case 'SCMP_CMP_EQ':
        return actual === BigInt(arg.value);
      case 'SCMP_CMP_NE':
        return actual !== BigInt(arg.value);
      case 'SCMP_CMP_MASKED_EQ':
        return (actual & BigInt(arg.value)) === BigInt(arg.valueTwo ?? 0);
    }
  };
  for (const rule of profile.syscalls) {
    if (!rule.names.includes(name)) continue;
    if (rule.args && !rule.args.every(matches)) continue;
    return rule.action === 'SCMP_ACT_ALLOW' ? 'allow' : (rule.errnoRet ?? EPERM);
  }
  return profile.defaultErrnoRet;
}

// Syscalls strace saw from Node 20 (fs, child_process, worker_threads, http, net, dgram, fs.watch, crypto, zlib),
// /usr/bin/python3 (subprocess, threading, multiprocessing, asyncio, sockets) and /bin/sh and /bin/bash scripts.
const MEASURED = `access arch_prctl bind brk capget chmod clock_nanosleep clone close close_range connect dup2 dup3
  epoll_create1 epoll_ctl epoll_pwait epoll_wait eventfd2 execve exit exit_group fadvise64 fcntl fstat futex getcwd
  getdents64 getegid geteuid getgid getpeername getpgrp getpid getppid getrandom getsockname getsockopt gettid getuid
  inotify_add_watch inotify_init1 inotify_rm_watch ioctl listen lseek madvise mkdir mmap mprotect munmap newfstatat
  openat pipe2 pkey_alloc poll pread64 prlimit64 read readlink recvfrom recvmsg rename rmdir rseq rt_sigaction
  rt_sigprocmask rt_sigreturn rt_sigsuspend sched_getaffinity sendmmsg sendto set_robust_list set_tid_address
  setsockopt shutdown socket socketpair statfs statx symlink sysinfo uname unlink unlinkat vfork wait4 write`.split(/\s+/);

const CLONE_THREAD_FLAGS = 0x003d0f00; // what glibc's pthread_create passes
const SIGCHLD = 17;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWNS = 0x00020000;

describe('sandbox seccomp profile', () => {
  const profile = sandboxSeccompProfile();

  it('refuses what it does not know, with EPERM, on x86_64 and aarch64 only', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.defaultErrnoRet).toBe(EPERM);
    expect(verdict(profile, 'a_syscall_from_next_year')).toBe(EPERM);
    expect([...profile.architectures].sort()).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_X86_64']);
  });

  it('lets through every syscall Node, Python and the shell were seen using', () => {
    const refused = MEASURED.filter((name) => verdict(profile, name, name === 'clone' ? [SIGCHLD] : []) !== 'allow');
    expect(refused).toEqual([]);
  });

  it('refuses host-changing and escape-prone syscalls with EPERM', () => {
    const mustRefuse = [
      'mount', 'umount2', 'pivot_root', 'chroot', 'ptrace', 'process_vm_readv', 'process_vm_writev', 'kexec_load',
      'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'bpf', 'perf_event_open', 'userfaultfd', 'keyctl',
      'add_key', 'request_key', 'unshare', 'setns', 'reboot', 'swapon', 'swapoff', 'acct', 'quotactl', 'open_by_handle_at',
      'name_to_handle_at', 'iopl', 'ioperm', 'syslog', 'io_uring_setup', 'fsopen', 'open_tree', 'move_mount', 'sethostname',
    ];
    for (const name of mustRefuse) expect(verdict(profile, name), name).toBe(EPERM);
    for (const name of DENIED_SYSCALLS) expect(verdict(profile, name), name).toBe(EPERM);
    expect(ALLOWED_SYSCALLS.filter((name) => (DENIED_SYSCALLS as readonly string[]).includes(name))).toEqual([]);
  });

  it('allows clone for threads and processes but not for new namespaces', () => {
    expect(verdict(profile, 'clone', [CLONE_THREAD_FLAGS])).toBe('allow');
    expect(verdict(profile, 'clone', [SIGCHLD])).toBe('allow');
    expect(verdict(profile, 'clone', [CLONE_NEWUSER | SIGCHLD])).toBe(EPERM);
    expect(verdict(profile, 'clone', [CLONE_NEWNET | CLONE_NEWNS | SIGCHLD])).toBe(EPERM);
  });

  it('answers clone3 ENOSYS so that libc falls back to the checked clone', () => {
    expect(verdict(profile, 'clone3')).toBe(ENOSYS);
  });

  it('allows only the default personality and the query', () => {
    expect(verdict(profile, 'personality', [0])).toBe('allow');
    expect(verdict(profile, 'personality', [0xffffffff])).toBe('allow');
    expect(verdict(profile, 'personality', [0x0400000])).toBe(EPERM); // READ_IMPLIES_EXEC
    expect(verdict(profile, 'personality', [0x0040000])).toBe(EPERM); // ADDR_NO_RANDOMIZE
  });

  it('names each syscall in at most one rule without arguments, as libseccomp requires', () => {
    const unconditional = profile.syscalls.filter((rule) => !rule.args).flatMap((rule) => rule.names);
    expect(new Set(unconditional).size).toBe(unconditional.length);
  });
});
