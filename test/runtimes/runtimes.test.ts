// Every runtime end to end: the whole platform, real runc sandboxes, each
// function deployed over HTTP and invoked the way its users would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { http } from '../support/http.js';

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform();
});

afterAll(async () => {
  await platform?.stop();
});

/** A zip whose entries keep Unix modes (executables stay executable), as `zip` on Linux makes them. */
function zipWithModes(files: Record<string, { text: string; mode?: number }>): Uint8Array {
  return zipSync(
    Object.fromEntries(
      Object.entries(files).map(([name, { text, mode = 0o644 }]) => [name, [strToU8(text), { os: 3, attrs: ((0o100000 | mode) << 16) >>> 0 }]]),
    ),
  );
}

async function upload(bundle: Uint8Array): Promise<string> {
  const answer = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: bundle });
  expect(answer.status, answer.text).toBeLessThan(300);
  return answer.json.digest;
}

async function deploy(name: string, runtime: string, handler: string, digest: string) {
  const answer = await http(`${platform.httpUrl}/v1/functions/${name}`, {
    method: 'PUT',
    json: { runtime, handler, code: { digest }, memoryMb: 128, timeoutSeconds: 10 },
  });
  expect(answer.status, answer.text).toBeLessThan(300);
  return answer;
}

const invoke = (name: string, event: unknown, headers: Record<string, string> = {}) =>
  http(`${platform.httpUrl}/v1/functions/${name}/invocations`, { method: 'POST', json: event, headers });

describe('python3', () => {
  it('runs handler(event, context) and types exceptions by class name', async () => {
    const digest = await upload(
      zipBundle({
        'main.py': `
import sys
def handler(event, context):
    if event.get("fail"):
        raise KeyError("missing thing")
    return {
        "got": event,
        "callId": context.call_id,
        "name": context.function_name,
        "version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "remainingOk": 0 < context.get_remaining_time_in_millis() <= 10000,
        "python": sys.version_info[0],
    }
`,
      }),
    );
    await deploy('py-fn', 'python3', 'main.handler', digest);
    const answer = await invoke('py-fn', { a: 1 }, { 'x-call-id': 'py-call-1' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ got: { a: 1 }, callId: 'py-call-1', name: 'py-fn', version: '1', memory: 128, remainingOk: true, python: 3 });

    const failed = await invoke('py-fn', { fail: true });
    expect(failed.headers.get('x-function-error')).toBe('KeyError');
    expect(failed.json.errorMessage).toContain('missing thing');
  });
});

describe('exec', () => {
  it('pipes the body through the program and shows request headers as Http_ variables', async () => {
    const digest = await upload(
      zipBundle({
        'count.sh': 'bytes=$(wc -c | tr -d " ")\nprintf \'{"bytes": %s, "method": "%s", "path": "%s", "query": "%s", "thing": "%s"}\' "$bytes" "$Http_Method" "$Http_Path" "$Http_Query" "$Http_X_Thing"\n',
        'fail.sh': 'echo "could not frobnicate" >&2\nexit 4\n',
      }),
    );
    await deploy('exec-count', 'exec', 'sh count.sh', digest);
    const viaHttp = await http(`${platform.httpUrl}/function/exec-count/some/path?x=1`, { method: 'POST', body: 'hello world', headers: { 'x-thing': 'shiny' } });
    expect(viaHttp.status, viaHttp.text).toBe(200);
    expect(viaHttp.json).toEqual({ bytes: 11, method: 'POST', path: '/some/path', query: 'x=1', thing: 'shiny' });

    const viaEvent = await invoke('exec-count', { n: 1 });
    expect(viaEvent.json).toMatchObject({ bytes: 7, method: 'POST', path: '/' });

    await deploy('exec-fail', 'exec', 'sh fail.sh', digest);
    const failed = await invoke('exec-fail', {});
    expect(failed.headers.get('x-function-error')).toBe('ExitError');
    expect(failed.json.errorMessage).toContain('could not frobnicate');
    const failedHttp = await http(`${platform.httpUrl}/function/exec-fail`);
    expect(failedHttp.status).toBe(500);
  });

  it('returns plain-text stdout as a JSON string for events', async () => {
    const digest = await upload(zipBundle({ 'readme.txt': 'unused' }));
    await deploy('exec-cat', 'exec', 'cat', digest);
    const answer = await http(`${platform.httpUrl}/v1/functions/exec-cat/invocations`, { method: 'POST', body: 'plain words', headers: { 'content-type': 'text/plain' } });
    expect(answer.json).toBe('plain words');
  });
});

describe('http', () => {
  it('starts the function server and forwards requests to it', async () => {
    const digest = await upload(
      zipBundle({
        'server.js': `
require('node:http').createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.writeHead(req.url.startsWith('/teapot') ? 418 : 200, { 'content-type': 'text/plain', 'x-port': process.env.PORT });
    res.end(req.method + ' ' + req.url + ' ' + (req.headers['x-thing'] || '') + ' ' + body);
  });
}).listen(Number(process.env.PORT));
`,
      }),
    );
    await deploy('http-fn', 'http', 'node server.js', digest);
    const answer = await http(`${platform.httpUrl}/function/http-fn/teapot?brew=1`, { method: 'PUT', body: 'leaves', headers: { 'x-thing': 'hot' } });
    expect(answer.status, answer.text).toBe(418);
    expect(answer.text).toBe('PUT /teapot?brew=1 hot leaves');
    expect(answer.headers.get('x-port')).toBe('8080');
  });
});

describe('custom runtimes', () => {
  it('registers a runtime whose bootstrap speaks the Lambda Runtime API and runs functions on it', async () => {
    const bootstrap = `#!/usr/bin/node
const api = 'http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/2018-06-01/runtime/invocation/';
const handlerFile = process.env.LAMBDA_TASK_ROOT + '/' + process.env._HANDLER;
(async () => {
  for (;;) {
    const next = await fetch(api + 'next');
    const id = next.headers.get('lambda-runtime-aws-request-id');
    const event = await next.json();
    const text = require('node:fs').readFileSync(handlerFile, 'utf8').trim();
    if (event.fail) {
      await fetch(api + id + '/error', { method: 'POST', body: JSON.stringify({ errorType: 'CustomFailure', errorMessage: 'as requested' }) });
      continue;
    }
    await fetch(api + id + '/response', { method: 'POST', body: JSON.stringify({ text, event, requestId: id }) });
  }
})();
`;
    const runtimeDigest = await upload(
      zipWithModes({ bootstrap: { text: bootstrap, mode: 0o755 }, 'runtime.json': { text: '{"name": "greeter", "description": "reads a text file"}' } }),
    );
    const registered = await http(`${platform.httpUrl}/v1/runtimes/greeter`, {
      method: 'PUT',
      json: { code: { digest: runtimeDigest }, description: 'reads a text file' },
    });
    expect(registered.status, registered.text).toBe(201);
    expect((await http(`${platform.httpUrl}/v1/runtimes`)).json.runtimes.map((r: { name: string }) => r.name)).toContain('greeter');

    const builtIn = await http(`${platform.httpUrl}/v1/runtimes/nodejs`, { method: 'PUT', json: { code: { digest: runtimeDigest } } });
    expect(builtIn.status).toBe(400);
    const unknown = await http(`${platform.httpUrl}/v1/functions/on-nothing`, {
      method: 'PUT',
      json: { runtime: 'custom:nothing', handler: 'x', code: { digest: runtimeDigest } },
    });
    expect(unknown.status).toBe(400);

    const digest = await upload(zipBundle({ 'greeting.txt': 'hello from a custom runtime\n' }));
    await deploy('custom-fn', 'custom:greeter', 'greeting.txt', digest);
    const answer = await invoke('custom-fn', { who: 'me' }, { 'x-call-id': 'custom-call-1' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ text: 'hello from a custom runtime', event: { who: 'me' }, requestId: 'custom-call-1' });

    const failed = await invoke('custom-fn', { fail: true });
    expect(failed.headers.get('x-function-error')).toBe('CustomFailure');
    expect(failed.json.errorMessage).toBe('as requested');
  });
});

describe('custom runtime registration', () => {
  it('refuses a bundle without a bootstrap, or whose runtime.json is wrong, naming what is wrong', async () => {
    const bootstrap = '#!/bin/sh\nexit 1\n';
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'runtime.json': '{"name": "broken"}' }, /needs a file named bootstrap/],
      [{ bootstrap }, /needs a runtime\.json/],
      [{ bootstrap, 'runtime.json': '{"name": "broken",' }, /runtime\.json is not JSON/],
      [{ bootstrap, 'runtime.json': '{"name": "someone-else"}' }, /"name" is "someone-else" but the runtime is registered as "broken"/],
      [{ bootstrap, 'runtime.json': '{"name": "broken", "memoryMb": 128}' }, /unknown field "memoryMb"/],
    ];
    for (const [files, reason] of cases) {
      const digest = await upload(zipBundle(files));
      const answer = await http(`${platform.httpUrl}/v1/runtimes/broken`, { method: 'PUT', json: { code: { digest } } });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.json.code).toBe('invalid_code_bundle');
      expect(answer.json.message).toMatch(reason);
    }
    expect((await http(`${platform.httpUrl}/v1/runtimes/broken`)).status).toBe(404);
  });
});

describe('nodejs', () => {
  it('runs callback-style handlers and gives the context, trace context included', async () => {
    const digest = await upload(
      zipBundle({
        'index.js': `
exports.handler = function (event, context, callback) {
  setTimeout(() => callback(null, {
    style: 'callback',
    got: event,
    callId: context.callId,
    name: context.functionName,
    version: context.functionVersion,
    memory: context.memoryLimitInMB,
    remainingOk: context.getRemainingTimeInMillis() > 0,
    traceparent: context.traceparent,
  }), 5);
};
`,
      }),
    );
    await deploy('node-callback', 'nodejs', 'index.handler', digest);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const answer = await invoke('node-callback', { a: 2 }, { 'x-call-id': 'cb-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toMatchObject({ style: 'callback', got: { a: 2 }, callId: 'cb-1', name: 'node-callback', version: '1', memory: 128, remainingOk: true });
    // The caller's trace, carried through httptrigger, controller and funclet to the handler.
    expect(answer.json.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it('runs ESM handlers that fail through the callback', async () => {
    const digest = await upload(
      zipBundle({ 'index.mjs': `export const handler = (event, context, callback) => callback(new RangeError('out of range: ' + event.n));` }),
    );
    await deploy('node-callback-esm', 'nodejs', 'index.handler', digest);
    const failed = await invoke('node-callback-esm', { n: 7 });
    expect(failed.headers.get('x-function-error')).toBe('RangeError');
    expect(failed.json.errorMessage).toBe('out of range: 7');
  });
});
