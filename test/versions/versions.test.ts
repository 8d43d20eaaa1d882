// Versions and aliases on the whole platform: immutable published versions
// invoked by number, $LATEST moving on beside them, an alias re-pointed and
// splitting its calls by weight (counted over many calls), and deletes that
// drain the sandboxes of what they removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Funclet, createClient } from '@faas/protocol';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

/** A handler that says which code it is, for events and HTTP calls alike. */
const codeSaying = (word: string) => `exports.handler = async () => ({ word: ${JSON.stringify(word)} });\n`;

let platform: Platform;
let funclet: ReturnType<typeof connectFunclet>;
const connectFunclet = (address: string) => createClient(Funclet, address, { peerName: 'funclet', defaultTimeoutMs: 5_000 });

async function deployCode(word: string): Promise<void> {
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': codeSaying(word) }) });
  expect(upload.status, upload.text).toBeLessThan(300);
  const put = await http(`${platform.httpUrl}/v1/functions/greet`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128, maxConcurrency: 20 },
  });
  expect(put.status, put.text).toBeLessThan(300);
}

async function publish(): Promise<{ status: number; qualifier: string }> {
  const published = await http(`${platform.httpUrl}/v1/functions/greet/versions`, { method: 'POST' });
  expect(published.status, published.text).toBeLessThan(300);
  return { status: published.status, qualifier: published.json.qualifier };
}

/** The word the code that served the call says; the answer's code when the call was refused. */
async function wordOf(url: string): Promise<string> {
  const answer = await http(`${platform.httpUrl}${url}`, { method: 'POST', json: {} });
  return answer.status === 200 ? answer.json.word : `${answer.status} ${answer.json?.code}`;
}

const sandboxesOf = async (qualifiedName: string) => (await funclet.listSandboxes({})).sandboxes.filter((sandbox) => sandbox.functionName === qualifiedName);

beforeAll(async () => {
  platform = await startPlatform();
  funclet = connectFunclet(platform.addresses.funclet);
  await deployCode('one');
  await publish();
  await deployCode('two');
  await publish();
  await deployCode('three');
}, 120_000);

afterAll(async () => {
  funclet?.close();
  await platform?.stop();
});

describe('versions and aliases', () => {
  it('publishes each revision once and runs each version\'s own code beside $LATEST, on every route', async () => {
    expect(await publish()).toEqual({ status: 201, qualifier: '3' });
    expect(await publish()).toEqual({ status: 200, qualifier: '3' });
    const versions = await http(`${platform.httpUrl}/v1/functions/greet/versions`);
    expect(versions.json.versions.map((v: { qualifier: string; version: number }) => [v.qualifier, v.version])).toEqual([
      ['1', 1],
      ['2', 2],
      ['3', 3],
    ]);

    expect(await wordOf('/v1/functions/greet/invocations')).toBe('three');
    expect(await wordOf('/v1/functions/greet:1/invocations')).toBe('one');
    expect(await wordOf('/v1/functions/greet/invocations?qualifier=2')).toBe('two');
    expect(await wordOf('/v1/functions/greet:$LATEST/invocations')).toBe('three');
    expect(await wordOf('/function/greet:1')).toBe('one');
    expect(await wordOf('/function/greet/some/path?qualifier=2')).toBe('two');
    expect(await wordOf('/v1/functions/greet:9/invocations')).toBe('404 version_not_found');
    expect(await wordOf('/v1/functions/greet:nope/invocations')).toBe('404 alias_not_found');

    // Queued calls keep their qualifier through NATS and the queue-worker.
    const accepted = await http(`${platform.httpUrl}/v1/functions/greet:1/invocations`, { method: 'POST', json: {}, headers: { 'x-invocation-type': 'Event' } });
    expect(accepted.status, accepted.text).toBe(202);
    const call = await eventually(async () => {
      const seen = await http(`${platform.httpUrl}/v1/calls/${accepted.headers.get('x-call-id')}`);
      return seen.json?.status === 'succeeded' || seen.json?.status === 'failed' ? seen.json : undefined;
    }, 30_000, 'the queued call');
    expect(call).toMatchObject({ status: 'succeeded', result: { word: 'one' } });
  }, 60_000);

  it('splits an alias\'s calls between two versions by weight, and follows the alias when it is re-pointed', async () => {
    const alias = await http(`${platform.httpUrl}/v1/functions/greet/aliases/live`, { method: 'PUT', json: { functionVersion: '1' } });
    expect(alias.status, alias.text).toBe(201);
    expect(await wordOf('/v1/functions/greet:live/invocations')).toBe('one');

    const canary = await http(`${platform.httpUrl}/v1/functions/greet/aliases/live`, {
      method: 'PUT',
      json: { functionVersion: '1', routingConfig: { additionalVersionWeights: { '2': 0.3 } } },
    });
    expect(canary.status, canary.text).toBe(200);
    const CALLS = 400;
    const words: string[] = [];
    for (let batch = 0; batch < CALLS / 20; batch++) {
      words.push(...(await Promise.all(Array.from({ length: 20 }, () => wordOf('/function/greet:live')))));
    }
    const share = words.filter((word) => word === 'two').length / CALLS;
    console.log(`alias live (version 1, 30% to version 2): ${CALLS} calls, ${(share * 100).toFixed(1)}% on version 2`);
    expect(words.filter((word) => word !== 'one' && word !== 'two')).toEqual([]);
    // 400 draws at 0.3: the standard deviation is 2.3 points, so this band is over four of them wide either way.
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);

    await http(`${platform.httpUrl}/v1/functions/greet/aliases/live`, { method: 'PUT', json: { functionVersion: '3' } });
    expect(await wordOf('/function/greet:live')).toBe('three');
  }, 120_000);

  it('drains a deleted version\'s sandboxes, refusing to delete one an alias points at', async () => {
    await http(`${platform.httpUrl}/v1/functions/greet/aliases/canary`, { method: 'PUT', json: { functionVersion: '1', routingConfig: { additionalVersionWeights: { '2': 0.5 } } } });
    expect(await wordOf('/v1/functions/greet:2/invocations')).toBe('two');
    expect(await sandboxesOf('greet:2')).not.toEqual([]);

    const refused = await http(`${platform.httpUrl}/v1/functions/greet/versions/2`, { method: 'DELETE' });
    expect([refused.status, refused.json.code]).toEqual([409, 'version_in_use']);
    expect((await http(`${platform.httpUrl}/v1/functions/greet/aliases/canary`, { method: 'DELETE' })).status).toBe(204);
    expect((await http(`${platform.httpUrl}/v1/functions/greet/versions/2`, { method: 'DELETE' })).status).toBe(204);

    await eventually(async () => ((await sandboxesOf('greet:2')).length === 0 ? true : undefined), 15_000, 'version 2\'s sandboxes to go');
    expect(await wordOf('/v1/functions/greet:2/invocations')).toBe('404 version_not_found');
    // The other versions kept theirs.
    expect(await sandboxesOf('greet:1')).not.toEqual([]);
    expect(await wordOf('/v1/functions/greet:1/invocations')).toBe('one');
  }, 60_000);

  it('drains every version\'s sandboxes when the function is deleted', async () => {
    expect((await http(`${platform.httpUrl}/v1/functions/greet`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => ((await funclet.listSandboxes({})).sandboxes.some((sandbox) => sandbox.functionName.startsWith('greet')) ? undefined : true), 15_000, 'greet\'s sandboxes to go');
    expect(await wordOf('/v1/functions/greet:1/invocations')).toBe('404 function_not_found');
    expect(await wordOf('/v1/functions/greet:live/invocations')).toBe('404 function_not_found');
    expect((await http(`${platform.httpUrl}/v1/functions/greet/versions`)).json.code).toBe('function_not_found');
  }, 60_000);
});
