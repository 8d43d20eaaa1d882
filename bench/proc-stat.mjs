// What /proc says about a process: CPU time used so far and resident memory.
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of `pid` in microseconds (0 once it is gone). */
export function cpuMicros(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of `pid` in bytes (0 once it is gone). */
export function rssBytes(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU spent by each named process while `work` runs: resolves with the
 * work's result and `{name: micros}`.
 */
export async function cpuDuring(pids, work) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, list.map(cpuMicros)]));
  const result = await work();
  // A process that exited meanwhile (a recycled sandbox) counts for nothing rather than for minus its past.
  const spent = Object.fromEntries(
    Object.entries(pids).map(([name, list]) => [name, sum(list.map((pid, i) => Math.max(0, cpuMicros(pid) - before[name][i])))]),
  );
  return { result, spent };
}

const sum = (values) => values.reduce((total, value) => total + value, 0);
