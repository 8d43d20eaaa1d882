/**
 * The resource limits a sandbox gets from its function's memory size. One
 * knob, as on the big clouds: more memory buys proportionally more CPU.
 *
 * - memory (and memory+swap): memory_mb, so the function never swaps.
 * - CPU weight: cpu.shares = memory_mb (v2: the matching cpu.weight), so under
 *   contention a 256 MB function gets twice the CPU of a 128 MB one.
 * - CPU quota: memory_mb / 1024 of a core, at least a quarter of a core and at
 *   most every core of the host (128 MB → 25 ms per 100 ms; 1024 MB → 1 core;
 *   2048 MB → 2 cores). A quarter core keeps small functions responsive;
 *   the quota stops one sandbox from taking the host.
 * - pids: 256 (threads included), enough for a runtime and a few children,
 *   too few for a fork bomb to hurt the host.
 * - /tmp: a tmpfs of the function's tmp_size_mb (64 MiB by default); what is
 *   written there is charged to the memory cgroup too, so it can never
 *   exceed memory_mb either.
 */
import { availableParallelism } from 'node:os';

export const CPU_PERIOD_US = 100_000;
export const DEFAULT_PIDS_LIMIT = 256;
export const DEFAULT_TMP_MB = 64;
const MIN_CORES = 0.25;

export interface SandboxLimits {
  readonly memoryBytes: number;
  readonly cpuShares: number;
  /** CPU time per period, in µs; ≤ 0 means no quota. */
  readonly cpuQuotaUs: number;
  readonly cpuPeriodUs: number;
  readonly pids: number;
  readonly tmpMb: number;
}

export interface LimitOptions {
  /** The function's /tmp size; DEFAULT_TMP_MB when absent. */
  readonly tmpMb?: number;
  /** The host's cores, which cap the CPU quota. */
  readonly hostCores?: number;
}

export function limitsFor(memoryMb: number, { tmpMb = DEFAULT_TMP_MB, hostCores = availableParallelism() }: LimitOptions = {}): SandboxLimits {
  const cores = Math.min(hostCores, Math.max(MIN_CORES, memoryMb / 1024));
  return {
    memoryBytes: memoryMb * 1024 * 1024,
    cpuShares: Math.max(2, memoryMb),
    cpuQuotaUs: Math.round(cores * CPU_PERIOD_US),
    cpuPeriodUs: CPU_PERIOD_US,
    pids: DEFAULT_PIDS_LIMIT,
    tmpMb,
  };
}

/**
 * A generic pool sandbox, waiting for a function: small memory, the lowest
 * CPU weight, no quota (booting the runtime quickly matters more while it
 * uses no CPU afterwards).
 */
export function poolLimits(memoryMb: number): SandboxLimits {
  return { ...limitsFor(memoryMb), cpuShares: 2, cpuQuotaUs: -1 };
}
