/**
 * The last calls of each function as this edge answered them, for
 * `GET /v1/functions/{name}/history` and the console. A ring of records per
 * function, overwritten in place: remembering a call allocates nothing once
 * the ring is full. Each edge keeps its own (calls through another edge are
 * in that one's); queued calls have their own records (GET /v1/calls).
 */

export interface CallEntry {
  callId: string;
  /** Epoch milliseconds when the request arrived. */
  startedAtMs: number;
  durationMs: number;
  kind: string;
  /** ok, function_error, queued, or a platform error code. */
  outcome: string;
  status: number;
  coldStart: boolean;
  sandboxId: string;
}

/** Functions remembered at most; past it, the one remembered longest goes. */
const MAX_FUNCTIONS = 1_000;

class Ring {
  readonly entries: CallEntry[] = [];
  next = 0;
}

export class InvocationHistory {
  private readonly rings = new Map<string, Ring>();

  constructor(readonly perFunction = 100) {}

  record(functionName: string, callId: string, startedAtMs: number, durationMs: number, kind: string, outcome: string, status: number, coldStart: boolean, sandboxId: string): void {
    if (this.perFunction === 0) return;
    let ring = this.rings.get(functionName);
    if (!ring) {
      if (this.rings.size >= MAX_FUNCTIONS) this.rings.delete(this.rings.keys().next().value!);
      this.rings.set(functionName, (ring = new Ring()));
    }
    const entry = ring.entries[ring.next];
    if (!entry) ring.entries.push({ callId, startedAtMs, durationMs, kind, outcome, status, coldStart, sandboxId });
    else {
      entry.callId = callId;
      entry.startedAtMs = startedAtMs;
      entry.durationMs = durationMs;
      entry.kind = kind;
      entry.outcome = outcome;
      entry.status = status;
      entry.coldStart = coldStart;
      entry.sandboxId = sandboxId;
    }
    ring.next = (ring.next + 1) % this.perFunction;
  }

  /** Newest first, copies (the ring's records are reused). */
  recent(functionName: string, limit = this.perFunction): CallEntry[] {
    const ring = this.rings.get(functionName);
    if (!ring) return [];
    const out: CallEntry[] = [];
    const count = ring.entries.length;
    for (let i = 1; i <= count && out.length < limit; i++) out.push({ ...ring.entries[(ring.next - i + count) % count]! });
    return out;
  }
}
