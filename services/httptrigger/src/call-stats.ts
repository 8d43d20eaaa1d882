/**
 * Per-function figures for the last hour, a minute at a time, for the
 * console's charts: calls, errors, cold starts and a latency histogram per
 * minute, from which p50 and p99 are read. Fixed arrays per function,
 * updated in place: counting a call allocates nothing. Each edge has its own.
 */

const MINUTES = 60;
const MINUTE_MS = 60_000;
/** Latency bins: 0.1 ms × 1.25^k, k = 0…63 (up to about two minutes); the last bin takes the rest. */
const BINS = 64;
const BIN_BASE_MS = 0.1;
const LOG_GROWTH = Math.log(1.25);
/** Functions followed at most; past it, the one followed longest goes. */
const MAX_FUNCTIONS = 1_000;

export interface MinutePoint {
  /** Epoch milliseconds at the minute's start. */
  readonly t: number;
  readonly calls: number;
  readonly errors: number;
  readonly coldStarts: number;
  /** Upper bounds of the bins holding the median and the 99th percentile; null in a minute without calls. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

class FunctionMinutes {
  /** Which minute (epoch minutes) each slot holds now. */
  readonly minute = new Float64Array(MINUTES).fill(-1);
  readonly calls = new Uint32Array(MINUTES);
  readonly errors = new Uint32Array(MINUTES);
  readonly coldStarts = new Uint32Array(MINUTES);
  readonly latency = new Uint32Array(MINUTES * BINS);

  slot(epochMinute: number): number {
    const slot = epochMinute % MINUTES;
    if (this.minute[slot] !== epochMinute) {
      this.minute[slot] = epochMinute;
      this.calls[slot] = 0;
      this.errors[slot] = 0;
      this.coldStarts[slot] = 0;
      this.latency.fill(0, slot * BINS, (slot + 1) * BINS);
    }
    return slot;
  }
}

export class CallStats {
  private readonly functions = new Map<string, FunctionMinutes>();

  constructor(private readonly now: () => number = Date.now) {}

  record(functionName: string, durationMs: number, failed: boolean, coldStart: boolean, nowMs: number = this.now()): void {
    let minutes = this.functions.get(functionName);
    if (!minutes) {
      if (this.functions.size >= MAX_FUNCTIONS) this.functions.delete(this.functions.keys().next().value!);
      this.functions.set(functionName, (minutes = new FunctionMinutes()));
    }
    const slot = minutes.slot(Math.floor(nowMs / MINUTE_MS));
    minutes.calls[slot]!++;
    if (failed) minutes.errors[slot]!++;
    if (coldStart) minutes.coldStarts[slot]!++;
    const bin = durationMs <= BIN_BASE_MS ? 0 : Math.min(BINS - 1, Math.ceil(Math.log(durationMs / BIN_BASE_MS) / LOG_GROWTH));
    minutes.latency[slot * BINS + bin]!++;
  }

  /** The last hour, oldest minute first, the current one last (minutes without calls as zeros). */
  lastHour(functionName: string, nowMs: number = this.now()): MinutePoint[] {
    const minutes = this.functions.get(functionName);
    const current = Math.floor(nowMs / MINUTE_MS);
    const points: MinutePoint[] = [];
    for (let epochMinute = current - MINUTES + 1; epochMinute <= current; epochMinute++) {
      const slot = epochMinute % MINUTES;
      if (!minutes || minutes.minute[slot] !== epochMinute) {
        points.push({ t: epochMinute * MINUTE_MS, calls: 0, errors: 0, coldStarts: 0, p50Ms: null, p99Ms: null });
        continue;
      }
      const calls = minutes.calls[slot]!;
      points.push({
        t: epochMinute * MINUTE_MS,
        calls,
        errors: minutes.errors[slot]!,
        coldStarts: minutes.coldStarts[slot]!,
        p50Ms: quantile(minutes.latency, slot, calls, 0.5),
        p99Ms: quantile(minutes.latency, slot, calls, 0.99),
      });
    }
    return points;
  }
}

function quantile(latency: Uint32Array, slot: number, calls: number, q: number): number | null {
  if (calls === 0) return null;
  const rank = Math.ceil(q * calls);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += latency[slot * BINS + bin]!;
    if (seen >= rank) return Number((BIN_BASE_MS * 1.25 ** bin).toPrecision(3));
  }
  return null;
}
