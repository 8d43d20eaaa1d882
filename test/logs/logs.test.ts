// Per-invocation logs end to end: what handlers print comes back as a tail
// (X-Log-Type: Tail), is kept in NATS JetStream per function, and can be read
// and followed through GET /v1/functions/{name}/logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

let platform: Platform;

const LOGGING_FUNCTION = `
export const handler = async (event, context) => {
  for (let i = 0; i < (event.lines ?? 1); i++) console.log('line ' + i + ' of ' + context.callId);
  if (event.warn) console.error('warning: ' + event.warn);
  if (event.flood) process.stdout.write('x'.repeat(1024 * 1024));
  return { ok: true };
};
`;

interface LogLine {
  time: string;
  callId: string;
  stream: string;
  sandboxId: string;
  version: string;
  line: string;
}

beforeAll(async () => {
  platform = await startPlatform();
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.mjs': LOGGING_FUNCTION }) });
  for (const name of ['talker', 'follower', 'flooder']) {
    const deployed = await http(`${platform.httpUrl}/v1/functions/${name}`, {
      method: 'PUT',
      json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, timeoutSeconds: 10 },
    });
    expect(deployed.status, deployed.text).toBeLessThan(300);
  }
});

afterAll(async () => {
  await platform?.stop();
});

const invoke = (name: string, event: unknown, headers: Record<string, string> = {}) =>
  http(`${platform.httpUrl}/v1/functions/${name}/invocations`, { method: 'POST', json: event, headers });

async function readLogs(name: string, query = ''): Promise<LogLine[]> {
  const answer = await http(`${platform.httpUrl}/v1/functions/${name}/logs${query}`);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.headers.get('content-type')).toContain('application/x-ndjson');
  return answer.text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('log tail in the response', () => {
  it('returns the call\'s output base64-encoded in X-Log-Result when asked with X-Log-Type: Tail', async () => {
    const answer = await invoke('talker', { lines: 2, warn: 'careful' }, { 'x-log-type': 'Tail', 'x-call-id': 'tail-call-1' });
    expect(answer.status, answer.text).toBe(200);
    const tail = Buffer.from(answer.headers.get('x-log-result') ?? '', 'base64').toString('utf8');
    expect(tail).toContain('line 0 of tail-call-1\nline 1 of tail-call-1\n');
    expect(tail).toContain('warning: careful');

    const plain = await invoke('talker', { lines: 1 });
    expect(plain.headers.get('x-log-result')).toBeNull();
  });

  it('leaves X-Log-Result out when the call wrote nothing, as Lambda does', async () => {
    const silent = await invoke('talker', { lines: 0 }, { 'x-log-type': 'Tail' });
    expect(silent.status, silent.text).toBe(200);
    expect(silent.json).toEqual({ ok: true });
    expect(silent.headers.get('x-log-result')).toBeNull();
  });

  it('keeps the tail to the last 4 KiB and a flood from breaking the call', async () => {
    const answer = await invoke('flooder', { flood: true, lines: 0 }, { 'x-log-type': 'Tail' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ ok: true });
    const tail = Buffer.from(answer.headers.get('x-log-result') ?? '', 'base64');
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail.toString()).toContain('output truncated');
  });
});

describe('GET /v1/functions/{name}/logs', () => {
  it('lists the newest lines, tagged with their call ids, oldest first', async () => {
    await invoke('talker', { lines: 3 }, { 'x-call-id': 'listed-call-1' });
    const lines = await eventually(async () => {
      const found = await readLogs('talker', '?tail=3');
      return found.some((line) => line.line === 'line 2 of listed-call-1') ? found : undefined;
    }, 10_000, 'the lines of listed-call-1');
    expect(lines.map((line) => line.line)).toEqual(['line 0 of listed-call-1', 'line 1 of listed-call-1', 'line 2 of listed-call-1']);
    expect(lines[0]).toMatchObject({ callId: 'listed-call-1', stream: 'stdout', version: '1' });
    expect(lines[0]!.sandboxId).toMatch(/^faas-/);

    const all = await readLogs('talker', '?tail=1000');
    expect(all.some((line) => line.callId === 'tail-call-1' && line.stream === 'stderr' && line.line === 'warning: careful')).toBe(true);
    expect((await readLogs('no-such-function-yet')).length).toBe(0);
    expect((await http(`${platform.httpUrl}/v1/functions/talker/logs?tail=nope`)).status).toBe(400);
  });

  it('follows: streams a line written after the request started, until the client leaves', async () => {
    await invoke('follower', { lines: 1 }, { 'x-call-id': 'before-follow' });
    // node:http rather than fetch: destroying the request closes its connection for sure.
    const { request } = await import('node:http');
    let received = '';
    const follow = request(`${platform.httpUrl}/v1/functions/follower/logs?tail=0&follow=true`, { headers: { authorization: `Bearer ${platform.credentials!.adminToken}` } });
    const gotLine = new Promise<void>((resolve, reject) => {
      follow.on('response', (response) => {
        expect(response.statusCode).toBe(200);
        response.on('data', (chunk: Buffer) => {
          received += chunk.toString('utf8');
          if (received.includes('line 0 of during-follow')) resolve();
        });
      });
      follow.on('error', reject);
      setTimeout(() => reject(new Error(`no followed line within 15 s; got ${JSON.stringify(received)}`)), 15_000);
    });
    follow.end();
    // The stream is open once its headers arrive; only then is the new line "after the request started".
    await new Promise((resolve) => follow.once('response', resolve));
    await invoke('follower', { lines: 1 }, { 'x-call-id': 'during-follow' });
    await gotLine;
    follow.destroy();
    const lines = received.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine);
    expect(lines.map((line) => line.callId)).toContain('during-follow');
    expect(lines.map((line) => line.callId)).not.toContain('before-follow');
  });
});
