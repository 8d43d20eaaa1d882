// Mixed sync and async calls over HTTP while a fault strikes, for the
// failover and host-failure tests: each call's outcome, and what became of
// the async calls the edge accepted.
import { http } from './http.js';

export type CallKind = 'sync' | 'async';

export interface Outcome {
  readonly kind: CallKind;
  readonly startedAt: number;
  readonly endedAt: number;
  /** 'ok' (200, or 202 for async), a platform error code, 'hung' (no answer within hungAfterMs) or a transport error. */
  readonly result: string;
  readonly callId: string;
}

export interface MixedLoadOptions {
  /** Edges called in turn, one call each (a round-robin client). */
  readonly edges: readonly string[];
  readonly functionName: string;
  /** Callers of each kind, each one call at a time with a short pause: tens of calls a second. */
  readonly syncLoops: number;
  readonly asyncLoops: number;
  readonly durationMs: number;
  /** When the fault strikes, from the start of the load. */
  readonly faultAfterMs: number;
  readonly fault: () => Promise<void>;
  readonly hungAfterMs: number;
  /** Names the call ids (`<prefix>-<n>`). */
  readonly callIdPrefix: string;
  readonly payload?: Record<string, unknown>;
}

export interface MixedLoad {
  readonly outcomes: Outcome[];
  readonly faultAt: number;
}

let calls = 0;
let turn = 0;

async function oneCall(kind: CallKind, options: MixedLoadOptions): Promise<Outcome> {
  const callId = `${options.callIdPrefix}-${++calls}`;
  const edge = options.edges[turn++ % options.edges.length]!;
  const startedAt = Date.now();
  try {
    const response = await fetch(`${edge}/v1/functions/${options.functionName}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-call-id': callId, ...(kind === 'async' ? { 'x-invocation-type': 'Event' } : {}) },
      body: JSON.stringify({ n: calls, ...options.payload }),
      signal: AbortSignal.timeout(options.hungAfterMs),
    });
    const body = (await response.json().catch(() => ({}))) as { code?: string };
    const ok = response.status === (kind === 'async' ? 202 : 200) && !response.headers.get('x-function-error');
    return { kind, startedAt, endedAt: Date.now(), result: ok ? 'ok' : (body.code ?? `http ${response.status}`), callId };
  } catch (error) {
    return { kind, startedAt, endedAt: Date.now(), result: (error as Error).name === 'TimeoutError' ? 'hung' : `transport: ${(error as Error).message}`, callId };
  }
}

export async function underMixedLoad(options: MixedLoadOptions): Promise<MixedLoad> {
  const outcomes: Outcome[] = [];
  const until = Date.now() + options.durationMs;
  const loop = async (kind: CallKind) => {
    while (Date.now() < until) {
      const outcome = await oneCall(kind, options);
      outcomes.push(outcome);
      // A caller backs off a little after a failure.
      await new Promise((resolve) => setTimeout(resolve, outcome.result === 'ok' ? 20 : 100));
    }
  };
  let faultAt = 0;
  const striking = (async () => {
    await new Promise((resolve) => setTimeout(resolve, options.faultAfterMs));
    faultAt = Date.now();
    await options.fault();
  })();
  await Promise.all([...Array.from({ length: options.syncLoops }, () => loop('sync')), ...Array.from({ length: options.asyncLoops }, () => loop('async')), striking]);
  return { outcomes, faultAt };
}

export interface LoadSummary {
  readonly failures: Outcome[];
  /** "<kind> <result>" → how many. */
  readonly failuresByResult: Record<string, number>;
  readonly lastFailureAt: number;
  /** The longest a failed call waited for its answer after the later of its start and the fault. */
  readonly slowestFailureMs: number;
  /** Calls of the kind that succeeded after the last failure of any kind. */
  okAfterLastFailure(kind: CallKind): number;
  count(kind: CallKind, result?: string): number;
  /** What the accepted async calls ended as, once each had finished (or the wait ran out): status → how many ('missing' for none). */
  asyncEnds(edge: string, timeoutMs: number): Promise<{ byStatus: Record<string, number>; notSucceeded: Array<{ callId: string; record: unknown }> }>;
}

export function summarise({ outcomes, faultAt }: MixedLoad): LoadSummary {
  const failures = outcomes.filter((outcome) => outcome.result !== 'ok');
  const failuresByResult: Record<string, number> = {};
  for (const failure of failures) failuresByResult[`${failure.kind} ${failure.result}`] = (failuresByResult[`${failure.kind} ${failure.result}`] ?? 0) + 1;
  const lastFailureAt = Math.max(faultAt, ...failures.map((failure) => failure.endedAt));
  const accepted = outcomes.filter((outcome) => outcome.kind === 'async' && outcome.result === 'ok').map((outcome) => outcome.callId);
  return {
    failures,
    failuresByResult,
    lastFailureAt,
    slowestFailureMs: Math.max(0, ...failures.map((failure) => failure.endedAt - Math.max(failure.startedAt, faultAt))),
    okAfterLastFailure: (kind) => outcomes.filter((outcome) => outcome.kind === kind && outcome.result === 'ok' && outcome.startedAt > lastFailureAt).length,
    count: (kind, result) => outcomes.filter((outcome) => outcome.kind === kind && (result === undefined || outcome.result === result)).length,
    async asyncEnds(edge, timeoutMs) {
      const recordOf = async (callId: string) => {
        const answer = await http(`${edge}/v1/calls/${callId}`).catch(() => undefined);
        return answer?.status === 200 ? (answer.json as { status: string }) : undefined;
      };
      const deadline = Date.now() + timeoutMs;
      let records = await Promise.all(accepted.map(recordOf));
      while (Date.now() < deadline && !records.every((record) => record && ['succeeded', 'failed', 'dead-lettered'].includes(record.status))) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        records = await Promise.all(accepted.map(recordOf));
      }
      const byStatus: Record<string, number> = {};
      for (const record of records) byStatus[record?.status ?? 'missing'] = (byStatus[record?.status ?? 'missing'] ?? 0) + 1;
      const notSucceeded = records.flatMap((record, i) => (record?.status === 'succeeded' ? [] : [{ callId: accepted[i]!, record }]));
      return { byStatus, notSucceeded };
    },
  };
}

/** What a caller may retry: the platform or a service behind it is away for now. */
export const RETRIABLE_CODES = new Set(['service_unavailable', 'bad_gateway', 'too_many_requests', 'deadline_exceeded', 'no_funclets']);
