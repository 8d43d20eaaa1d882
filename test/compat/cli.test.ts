// Our `faas` CLI against the whole platform: OpenFaaS template handler
// folders (node20, node18, python3, python3-http, as `faas-cli new` makes
// them) deployed unchanged from a stack.yml with `faas deploy -f` and
// answering as on OpenFaaS; then the everyday commands, their --json
// output and their exit codes.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '@faas/launcher';
import { eventually, http } from '../support/http.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO_ROOT, 'packages/cli/dist/main.js');
const STACK = path.join(import.meta.dirname, 'fixtures/openfaas-templates/stack.yml');
const run = promisify(execFile);

let platform: Platform;

/** Runs `faas …` against this platform; resolves with its output and exit code whatever the code. */
async function faas(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = run(process.execPath, [CLI, '--gateway', platform.httpUrl, ...args], { env: { ...process.env, FAAS_WORK_DIR: platform.workDir, FAAS_TOKEN: '' }, maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  } else child.child.stdin?.end();
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  platform = await startPlatform();
  const secret = await faas(['secrets', 'set', 'shout-key', '--value', 'k3y']);
  expect(secret, secret.stderr).toMatchObject({ code: 0 });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('faas deploy -f stack.yml with OpenFaaS templates', () => {
  it('deploys every handler folder unchanged, and each answers as on OpenFaaS', async () => {
    const deployed = await faas(['--json', 'deploy', '-f', STACK]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(JSON.parse(deployed.stdout).map((fn: { name: string }) => fn.name)).toEqual(['hello-node20', 'hello-node18', 'hello-python3', 'hello-python3-http', 'shout-node20', 'echo-python3-http']);
    for (const fn of JSON.parse(deployed.stdout)) expect(fn.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Progress goes to stderr for people, never into the JSON.
    const human = await faas(['deploy', '-f', STACK, '--filter', 'hello-python3']);
    expect(human.stderr).toMatch(/hello-python3: bundled \d+ files.*\n.*code sha256:.*\n.*ready/);

    const call = (name: string, init: RequestInit = {}, query = '') => http(`${platform.httpUrl}/function/${name}${query}`, { method: 'POST', ...init });
    for (const name of ['hello-node20', 'hello-node18']) {
      const answer = await call(name, { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.text).toBe('{"body":"{\\"a\\":1}","content-type":"application/json"}');
      // No content type reads as text/plain, as the template's server says.
      expect((await call(name, { body: Buffer.from('hi') })).text).toBe('{"body":"\\"hi\\"","content-type":"text/plain"}');
    }
    const python3 = await call('hello-python3', { body: 'hello there', headers: { 'content-type': 'text/plain' } });
    expect(python3.status, python3.text).toBe(200);
    expect(python3.text).toBe('hello there\n');
    const pythonHttp = await call('hello-python3-http', { body: 'x' });
    expect(pythonHttp.status, pythonHttp.text).toBe(200);
    expect(pythonHttp.text).toBe('Hello from OpenFaaS!');

    const shout = await call('shout-node20', { body: '{"word":"quiet"}', headers: { 'content-type': 'application/json' } }, '/some/path?x=1');
    expect(shout.status, shout.text).toBe(201);
    expect(shout.headers.get('x-shouted')).toBe('yes');
    expect(JSON.parse(shout.text)).toEqual({ shout: 'QUIET', method: 'POST', path: '/some/path', secret: 'k3y' });
    const failed = await call('shout-node20', { body: '{}', headers: { 'content-type': 'application/json' } }, '?fail=1');
    expect(failed.status).toBe(500);
    expect(failed.text).toBe('asked to fail');

    const echo = await call('echo-python3-http', { body: 'some bytes', headers: { 'content-type': 'text/plain' } }, '?name=ada');
    expect(echo.status, echo.text).toBe(202);
    expect(echo.headers.get('content-type')).toBe('application/json');
    expect(echo.headers.get('x-echo')).toBe('yes');
    expect(echo.text).toBe('{"got":"some bytes","greeting":"bonjour","method":"POST","name":"ada","type":"text/plain"}\n');

    const described = await faas(['--json', 'describe', 'echo-python3-http']);
    expect(JSON.parse(described.stdout)).toMatchObject({ memoryMb: 256, annotations: { 'com.openfaas.lang': 'python3-http' } });
    // Scale labels become limits, as the OpenFaaS API maps them.
    expect(JSON.parse((await faas(['--json', 'describe', 'shout-node20'])).stdout)).toMatchObject({ maxConcurrency: 3, labels: { 'com.openfaas.scale.max': '3' }, secrets: ['shout-key'] });
  });
});

describe('faas commands', () => {
  it('deploys a folder, invokes it sync and async, lists, describes, reads logs, and removes it', async () => {
    const dir = path.join(import.meta.dirname, 'fixtures/cli-echo');
    const deployed = await faas(['deploy', dir, '--runtime', 'nodejs', '--handler', 'index.handler', '--env', 'WORD=hi']);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^cli-echo {2}sha256:[0-9a-f]{64} {2}revision 1\n$/);

    const invoked = await faas(['invoke', 'cli-echo', '--data', '{"n":2}']);
    expect(invoked).toMatchObject({ code: 0, stdout: '{"word":"hi","event":{"n":2}}\n' });
    const piped = await faas(['--json', 'invoke', 'cli-echo'], '{"n":3}');
    expect(JSON.parse(piped.stdout)).toMatchObject({ status: 200, body: { word: 'hi', event: { n: 3 } } });
    const failing = await faas(['invoke', 'cli-echo', '--data', '{"fail":true}']);
    expect(failing.code).toBe(4);
    expect(failing.stderr).toContain('the function failed: Error');

    const queued = await faas(['--json', 'invoke', 'cli-echo', '--async', '--data', '{"n":4}']);
    const { callId } = JSON.parse(queued.stdout);
    const call = await eventually(async () => {
      const shown = JSON.parse((await faas(['--json', 'calls', 'get', callId])).stdout);
      return shown.status === 'succeeded' ? shown : undefined;
    }, 20_000, 'the queued call');
    expect(call.result).toEqual({ word: 'hi', event: { n: 4 } });

    const listed = await faas(['list']);
    expect(listed.stdout).toMatch(/^NAME\s+RUNTIME\s+HANDLER/);
    expect(listed.stdout).toMatch(/\ncli-echo\s+nodejs\s+index\.handler\s+128 MiB/);
    const logs = await eventually(async () => {
      const answer = await faas(['logs', 'cli-echo', '--tail', '50']);
      return answer.stdout.includes('echoing') ? answer : undefined;
    }, 20_000, 'the log lines');
    expect(logs.stdout).toMatch(/Z \S+ {3}echoing/);

    expect((await faas(['versions', 'publish', 'cli-echo'])).stdout).toBe('published cli-echo:1\n');
    expect((await faas(['aliases', 'set', 'cli-echo', 'live', '1'])).code).toBe(0);
    expect((await faas(['--json', 'aliases', 'list', 'cli-echo'])).stdout).toContain('"functionVersion": "1"');
    expect((await faas(['secrets', 'list'])).stdout).toBe('shout-key\n');

    expect((await faas(['rm', 'cli-echo'])).stdout).toBe('deleted cli-echo\n');
    const missing = await faas(['describe', 'cli-echo']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/function_not_found[^\n]*\n {2}→ see the deployed functions with `faas list`/);
    expect((await faas(['deploy'])).code).toBe(2);
    expect((await faas(['no-such-command'])).code).toBe(2);
  });

  it('says the platform is unreachable with its own exit code', async () => {
    const answer = await run(process.execPath, [CLI, '--gateway', 'http://127.0.0.1:1', 'list']).catch((error: { code: number; stderr: string }) => error);
    expect(answer).toMatchObject({ code: 5, stderr: expect.stringContaining('cannot reach the platform') });
  });
});
