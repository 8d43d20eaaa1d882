// Lifecycle under load: 1,000 invocations across 50 functions (some throwing,
// some timing out so sandboxes are killed and replaced, some with egress), a
// funclet killed with SIGKILL and one restarted normally, and afterwards
// nothing of the funclet's left on the host: no runc containers, cgroups,
// network namespaces, mounts, firewall rules, egress bridge or hold on the
// host's IP forwarding.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http, type HttpAnswer } from '../support/http.js';
import { NOTHING_LEFT, emptyFaasParents, hostLeftovers } from '../support/leftovers.js';

const FUNCTIONS = 50;
const INVOCATIONS = 1000;
const IN_FLIGHT = 12;
/** Functions 0..4 time out after 1 s; their "hang" calls cost a sandbox each. */
const QUICK_TIMEOUT_FUNCTIONS = 5;
/** Functions 45..49 have outbound network: a bridge, firewall rules and forwarding while they run. */
const EGRESS_FROM = 45;

const HANDLER = `
export const handler = async (event) => {
  if (event.action === 'throw') throw new RangeError('asked to fail ' + event.seq);
  if (event.action === 'hang') await new Promise(() => {});
  return { fn: process.env.FN_NAME, seq: event.seq };
};
`;

type Action = 'ok' | 'throw' | 'hang';
interface Call {
  readonly seq: number;
  readonly fn: string;
  readonly action: Action;
}

const functionName = (index: number) => `leak-${index}`;

/** Mostly plain calls; every 100 calls one throws and one hangs past its function's 1 s timeout. */
function plannedCalls(): Call[] {
  return Array.from({ length: INVOCATIONS }, (_, seq) => {
    if (seq % 100 === 13) return { seq, fn: functionName((seq / 100) % QUICK_TIMEOUT_FUNCTIONS | 0), action: 'hang' };
    return { seq, fn: functionName(seq % FUNCTIONS), action: seq % 100 === 7 ? 'throw' : 'ok' };
  });
}

function expectAnswered(call: Call, answer: HttpAnswer): void {
  const where = `call ${call.seq} (${call.action} on ${call.fn}): ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, where).toBe(200);
  if (call.action === 'ok') {
    expect(answer.headers.get('x-function-error'), where).toBeNull();
    expect(answer.json, where).toEqual({ fn: call.fn, seq: call.seq });
  } else if (call.action === 'throw') {
    expect(answer.headers.get('x-function-error'), where).toBe('RangeError');
    expect(answer.json, where).toMatchObject({ errorType: 'RangeError', errorMessage: `asked to fail ${call.seq}` });
  } else {
    expect(answer.headers.get('x-function-error'), where).toBe('Timeout');
  }
}

async function runBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Host pids of the sandboxes runc knows in this root. */
function sandboxPids(runcRoot: string): number[] {
  const listed = JSON.parse(execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || 'null') ?? [];
  return listed.map((container: { pid: number }) => container.pid).filter((pid: number) => pid > 0);
}

/** A process still running (zombies waiting for a reaper that is not ours do not count). */
function stillRunning(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    return `${pid} ${state} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`;
  } catch {
    return undefined;
  }
}

let platform: Platform | undefined;
// Our own work dir, so that it (and the runc root in it) outlives stop() and can be inspected.
const workDir = mkdtempSync(path.join(os.tmpdir(), 'faas-leak-'));

beforeAll(async () => {
  platform = await startPlatform({ workDir });
});

afterAll(async () => {
  await platform?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('sandbox lifecycle', () => {
  it('leaves no container, cgroup, namespace, mount, firewall rule or forwarding hold behind after 1,000 calls and two funclet restarts', async () => {
    const p = platform!;
    const invoke = (call: Call) =>
      http(`${p.httpUrl}/v1/functions/${call.fn}/invocations`, { method: 'POST', json: { action: call.action, seq: call.seq } });

    const upload = await http(`${p.httpUrl}/v1/code`, {
      method: 'POST',
      headers: { 'content-type': 'application/zip' },
      body: zipBundle({ 'index.mjs': HANDLER }),
    });
    expect(upload.status, upload.text).toBeLessThan(300);
    for (let index = 0; index < FUNCTIONS; index++) {
      const name = functionName(index);
      const deployed = await http(`${p.httpUrl}/v1/functions/${name}`, {
        method: 'PUT',
        json: {
          runtime: 'nodejs',
          handler: 'index.handler',
          code: { digest: upload.json.digest },
          memoryMb: 64,
          timeoutSeconds: index < QUICK_TIMEOUT_FUNCTIONS ? 1 : 10,
          environment: { FN_NAME: name },
          network: { egress: index >= EGRESS_FROM },
        },
      });
      expect(deployed.status, deployed.text).toBeLessThan(300);
    }

    const calls = plannedCalls();
    const outcomes = new Map<Action, number>();
    await runBounded(calls, IN_FLIGHT, async (call) => {
      expectAnswered(call, await invoke(call));
      outcomes.set(call.action, (outcomes.get(call.action) ?? 0) + 1);
    });
    expect(Object.fromEntries(outcomes)).toEqual({ ok: 980, throw: 10, hang: 10 });

    // The probe sees live sandboxes, so its empty answer at the end means something.
    const live = hostLeftovers(p.funcletId, p.funcletStateDir, p.runcRoot);
    expect(live.containers.length).toBeGreaterThan(0);
    expect(live.cgroups.length).toBeGreaterThan(0);
    expect(live.firewall.length, 'the egress functions have their bridge and rules').toBeGreaterThan(0);
    expect(live.forwardingHolds, 'and forwarding is held for them').toHaveLength(1);
    const orphanPids = sandboxPids(p.runcRoot);
    expect(orphanPids.length).toBeGreaterThan(0);

    // kill -9: its sandboxes outlive it; the next funclet must find and remove them before serving.
    await p.restartService('funclet', 'SIGKILL');
    expect(orphanPids.map(stillRunning).filter(Boolean)).toEqual([]);
    await p.restartService('funclet');

    // The controller learns of the new boot and forgets the old sandboxes; calls work again.
    for (let index = 0; index < 5; index++) {
      const call: Call = { seq: INVOCATIONS + index, fn: functionName(index * 7), action: 'ok' };
      const answer = await eventually(async () => {
        const attempt = await invoke(call);
        return attempt.status === 200 ? attempt : undefined;
      }, 20_000, `${call.fn} answering after the restarts`);
      expectAnswered(call, answer);
    }

    await p.stop();
    platform = undefined;
    expect(hostLeftovers(p.funcletId, p.funcletStateDir, p.runcRoot)).toEqual(NOTHING_LEFT);
    // Not even the parent every funclet's cgroups go in, unless another funclet on this machine still has its own there.
    expect(emptyFaasParents()).toEqual([]);
  }, 150_000);
});
