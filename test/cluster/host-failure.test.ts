// A host that drops off the network: three funclets in three network
// namespaces of their own (faas-t16-h1…3, each with its own state folder),
// two controllers and two httptriggers, called in turn by a round-robin
// client. One host's link is cut (its veth down) under mixed sync and async
// load, then put back: every accepted async call succeeds, sync calls that
// met the cut host fail fast with a retriable code and the rest go to the
// other hosts; once back, the host serves calls again and the sandboxes it
// held when it was cut off are cleaned away.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invoker } from '@faas/client';
import { InvocationKind, InvocationSchema, create } from '@faas/protocol';
import { canMakeHostNetwork, startPlatform, startService, type Platform, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';
import { RETRIABLE_CODES, summarise, underMixedLoad } from '../support/mixed-load.js';

/** Names this test's namespaces (faas-t16-h<n>), bridge and veths (fvt16<n> outside). */
const TAG = 't16';
const FUNCTION = `
export const handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, event.ms ?? 20));
  return { n: event.n };
};
`;
/** Longer than any call may take here: a call still unanswered then has hung. */
const HUNG_AFTER_MS = 12_000;
/** An idle sandbox no controller claims is destroyed after this (FUNCLET_ORPHAN_TTL_MS). */
const ORPHAN_TTL_MS = 3_000;
/**
 * The load runs this long after the cut: past the controllers' bound on a
 * funclet's silence (10 s), after which they place nothing on it.
 */
const LOAD_AFTER_CUT_MS = 15_000;
const CUT_AFTER_MS = 3_000;

let platform: Platform;
let secondEdge: RunningService;
let edges: string[];

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
/** What an earlier run of this test left behind if it was killed: only our own names. */
function removeLeftovers(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0]!;
    if (name.startsWith(`faas-${TAG}-`)) ip('netns', 'del', name);
  }
  for (const link of ip('-o', 'link', 'show').matchAll(/^\d+: ((?:fbr|fv)t16\w*)[@:]/gm)) ip('link', 'del', link[1]!);
}
const vethOf = (index: number) => `fv${TAG}${index + 1}`;
const containersOn = (index: number) =>
  execFileSync('runc', ['--root', platform.funclets[index]!.runcRoot, 'list', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean);

async function deploy(name: string, config: Record<string, unknown>) {
  const upload = await http(`${edges[0]}/v1/code`, { method: 'POST', body: zipBundle({ 'index.mjs': FUNCTION }) });
  const deployed = await http(`${edges[0]}/v1/functions/${name}`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128, timeoutSeconds: 10, ...config },
  });
  expect(deployed.status, deployed.text).toBeLessThan(300);
}

describe.skipIf(!canMakeHostNetwork())('a host cut off from the network', () => {
  beforeAll(async () => {
    removeLeftovers();
    platform = await startPlatform({
      instanceId: TAG,
      funclets: 3,
      controllers: 2,
      funcletNamespaces: true,
      serviceEnv: {
        funclet: { FUNCLET_POOL_SIZE: '1', FUNCLET_POOL_MEMORY_MB: '128', FUNCLET_MEMORY_MB: '3072', FUNCLET_ORPHAN_TTL_MS: String(ORPHAN_TTL_MS) },
        'queue-worker': { QUEUE_WORKER_ACK_WAIT_MS: '5000' },
      },
    });
    const first = platform.replicas('httptrigger')[0]!;
    secondEdge = await startService(
      'httptrigger',
      {
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        NATS_URL: platform.natsUrl,
        CONTROLLER_ADDRESS: platform.controllerAddresses.join(','),
        STUBS_ADDRESS: platform.addresses.stubs,
        QUEUE_WORKER_ADDRESS: platform.addresses['queue-worker'],
      },
      undefined,
      { label: 'httptrigger-2' },
    );
    edges = [`http://${first.address}`, `http://${secondEdge.address}`];
    await deploy('spread', { maxConcurrency: 24, async: { baseDelayMs: 200, maxDelayMs: 1_000, maxAttempts: 30 } });
  }, 180_000);

  afterAll(async () => {
    await secondEdge?.process.stop();
    await platform?.stop();
    removeLeftovers();
  });

  it('loses no accepted async call, fails sync calls on it fast and serves the rest elsewhere, then uses the host again and cleans its stale sandboxes', { timeout: 150_000 }, async () => {
    const victim = 1;
    const victimId = platform.funclets[victim]!.id;
    const onVictim = (sandboxId: string) => sandboxId.startsWith(`faas-${victimId}-`);
    const invoker = new Invoker({ controllerAddress: [...platform.controllerAddresses], dataPath: 'direct' });
    let n = 0;
    const invokeBatch = (fn: string) =>
      Promise.all(
        Array.from({ length: 12 }, () =>
          invoker.invoke(create(InvocationSchema, { functionName: fn, callId: `probe-${++n}`, kind: InvocationKind.EVENT, payload: Buffer.from('{"ms":300}'), contentType: 'application/json' }), {
            deadlineMs: Date.now() + HUNG_AFTER_MS,
          }),
        ),
      );
    // Calls in parallel until the victim holds sandboxes of the function: the cut then meets calls placed on it.
    const heldBeforeCut = await eventually(
      async () => {
        const ids = [...new Set((await invokeBatch('spread')).map((result) => result.sandboxId).filter(onVictim))];
        return ids.length > 0 ? ids : undefined;
      },
      30_000,
      'sandboxes of the function on the victim',
    );
    expect(containersOn(victim)).toEqual(expect.arrayContaining(heldBeforeCut));

    const load = await underMixedLoad({
      edges,
      functionName: 'spread',
      syncLoops: 6,
      asyncLoops: 2,
      durationMs: CUT_AFTER_MS + LOAD_AFTER_CUT_MS,
      faultAfterMs: CUT_AFTER_MS,
      fault: async () => void ip('link', 'set', vethOf(victim), 'down'),
      hungAfterMs: HUNG_AFTER_MS,
      callIdPrefix: 'hosts',
      payload: { ms: 50 },
    });
    // The host comes back.
    ip('link', 'set', vethOf(victim), 'up');
    const summary = summarise(load);
    const { byStatus, notSucceeded } = await summary.asyncEnds(edges[0]!, 60_000);
    console.log(
      `host ${victimId} cut off: sync ${summary.count('sync')} calls, ${summary.count('sync', 'ok')} ok, ${summary.okAfterLastFailure('sync')} ok after the last failure; ` +
        `async ${summary.count('async')} sent, ${summary.count('async', 'ok')} accepted, outcomes ${JSON.stringify(byStatus)}; ` +
        `failures ${JSON.stringify(summary.failuresByResult)}; slowest failure ${summary.slowestFailureMs} ms after the cut; last failure ${summary.lastFailureAt - load.faultAt} ms after it; ${heldBeforeCut.length} sandboxes of the function on the host when cut`,
    );
    for (const { callId, record } of notSucceeded) console.log(`async ${callId} ended`, JSON.stringify(record)?.slice(0, 600));
    expect(notSucceeded, 'every accepted async call succeeded').toEqual([]);
    expect(summary.failures.filter((failure) => !RETRIABLE_CODES.has(failure.result)).map((failure) => `${failure.kind} ${failure.result}`)).toEqual([]);
    expect(summary.okAfterLastFailure('sync'), 'sync calls go to the other hosts').toBeGreaterThan(0);

    // Back: the sandboxes it held when cut off are cleaned away, and it serves calls again.
    try {
      const cleaned = await eventually(
        async () => {
          const now = new Set(containersOn(victim));
          return heldBeforeCut.every((id) => !now.has(id)) ? now : undefined;
        },
        45_000,
        'the stale sandboxes to be cleaned',
      );
      await deploy('after-return', { maxConcurrency: 20 });
      await eventually(async () => ((await invokeBatch('after-return')).some((result) => onVictim(result.sandboxId)) ? true : undefined), 60_000, 'a call on the host that came back');
      console.log(`host back: its ${heldBeforeCut.length} stale sandboxes cleaned (${cleaned.size} now), calls placed on it again`);
    } finally {
      invoker.close();
    }
  });
});
