// The whole engine end to end: five services as separate processes, real
// NATS JetStream, real Redis, every invocation in a real runc sandbox.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Controller, InvocationKind, createClient } from '@faas/protocol';
import { startPlatform, type Platform } from '@faas/launcher';
import { tarGzBundle, zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';
import { NOTHING_LEFT, hostLeftovers } from '../support/leftovers.js';

// One handler that can do everything the tests need, chosen by the event.
const PROBE_FUNCTION = `
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
let invocations = 0;

export const handler = async (event, context) => {
  invocations += 1;
  if (event && event.method) {
    // An HTTP invocation: shape the response.
    return {
      statusCode: 201,
      headers: { 'x-seen-path': event.path, 'content-type': 'text/plain' },
      body: event.method + ' ' + event.path + ' ' + JSON.stringify(event.query) + ' ' + event.body,
    };
  }
  switch (event?.action) {
    case 'count':
      return { invocations, callId: context.callId, version: process.env.CODE_VERSION };
    case 'cloud-event':
      return { data: event, cloudEvent: context.cloudEvent };
    case 'throw': {
      const error = new TypeError('bad input: ' + event.why);
      throw error;
    }
    case 'fill-tmp': {
      let written = 0;
      try {
        for (; written < event.mb; written++) writeFileSync('/tmp/fill-' + written, Buffer.alloc(1024 * 1024, 1));
        return { written, error: null };
      } catch (error) {
        return { written, error: error.code };
      }
    }
    case 'inspect': {
      let rootWrite;
      try {
        writeFileSync('/escape.txt', 'x');
        rootWrite = 'written';
      } catch (error) {
        rootWrite = error.code;
      }
      return {
        uid: process.getuid(),
        interfaces: readdirSync('/sys/class/net').sort(),
        memoryLimit: Number(readFileSync('/sys/fs/cgroup/memory/memory.limit_in_bytes', 'utf8')),
        rootWrite,
        hostname: (await import('node:os')).hostname(),
      };
    }
    default:
      return { echo: event };
  }
};
`;

const CJS_FUNCTION = `
exports.handler = async (event) => ({ style: 'commonjs', got: event });
`;

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform();
});

afterAll(async () => {
  await platform?.stop();
});

async function uploadZip(files: Record<string, string>): Promise<string> {
  const upload = await http(`${platform.httpUrl}/v1/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip' },
    body: zipBundle(files),
  });
  expect(upload.status, upload.text).toBeLessThan(300);
  return upload.json.digest;
}

async function deploy(name: string, digest: string, extra: Record<string, unknown> = {}) {
  const answer = await http(`${platform.httpUrl}/v1/functions/${name}`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest }, memoryMb: 128, timeoutSeconds: 10, ...extra },
  });
  expect(answer.status, answer.text).toBeLessThan(300);
  return answer;
}

const invoke = (name: string, event: unknown, headers: Record<string, string> = {}) =>
  http(`${platform.httpUrl}/v1/functions/${name}/invocations`, { method: 'POST', json: event, headers });

describe('code upload and deploy', () => {
  it('stores the same bytes once and answers their digest', async () => {
    const bundle = zipBundle({ 'index.js': CJS_FUNCTION });
    const first = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: bundle });
    const second = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: bundle });
    expect(first.json.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second.json).toEqual(first.json);
    expect(first.json.size).toBe(bundle.byteLength);
  });

  it('creates, reads, lists and deletes functions', async () => {
    const digest = await uploadZip({ 'index.js': CJS_FUNCTION });
    const created = await deploy('crud-fn', digest, { environment: { GREETING: 'hi' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'crud-fn', runtime: 'nodejs', memoryMb: 128, version: 1, environment: { GREETING: 'hi' } });
    const updated = await deploy('crud-fn', digest, { memoryMb: 256 });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ version: 2, memoryMb: 256 });

    expect((await http(`${platform.httpUrl}/v1/functions/crud-fn`)).json.version).toBe(2);
    const list = await http(`${platform.httpUrl}/v1/functions`);
    expect(list.json.functions.map((f: { name: string }) => f.name)).toContain('crud-fn');

    expect((await http(`${platform.httpUrl}/v1/functions/crud-fn`, { method: 'DELETE' })).status).toBe(204);
    const gone = await http(`${platform.httpUrl}/v1/functions/crud-fn`);
    expect(gone.status).toBe(404);
    expect(gone.json.code).toBe('function_not_found');
  });

  it('sends a deployed function\'s code to the funclet before its first call', async () => {
    const digest = await uploadZip({ 'index.js': `exports.handler = async () => 'prefetched ${Date.now()}';` });
    const cached = path.join(platform.funcletStateDir, 'code', digest.slice('sha256:'.length));
    expect(existsSync(cached)).toBe(false);
    await deploy('prefetched-fn', digest);
    await eventually(async () => existsSync(cached) || undefined, 10_000, 'the code in the funclet cache');
  });

  it('deploys from a tar.gz bundle and runs CommonJS handlers', async () => {
    const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: tarGzBundle({ 'index.js': CJS_FUNCTION }) });
    expect(upload.status, upload.text).toBeLessThan(300);
    await deploy('cjs-fn', upload.json.digest);
    const answer = await invoke('cjs-fn', { a: 1 });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ style: 'commonjs', got: { a: 1 } });
  });

  it('rejects bad input with stable codes', async () => {
    const notAnArchive = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: 'just text' });
    expect(notAnArchive.status).toBe(400);
    expect(notAnArchive.json.code).toBe('invalid_code_bundle');

    const tooBig = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: new Uint8Array(51 * 1024 * 1024) });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.code).toBe('payload_too_large');

    const badJson = await http(`${platform.httpUrl}/v1/functions/x`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(badJson.status).toBe(400);

    const badName = await http(`${platform.httpUrl}/v1/functions/Bad_Name`, {
      method: 'PUT',
      json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: 'sha256:' + '0'.repeat(64) } },
    });
    expect(badName.status).toBe(400);
    expect(badName.json.code).toBe('invalid_function_name');

    const unknownCode = await http(`${platform.httpUrl}/v1/functions/fine-name`, {
      method: 'PUT',
      json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: 'sha256:' + '0'.repeat(64) } },
    });
    expect(unknownCode.status).toBe(400);
    expect(unknownCode.json.code).toBe('code_not_found');

    const unknownFunction = await invoke('does-not-exist', {});
    expect(unknownFunction.status).toBe(404);
    expect(unknownFunction.json).toMatchObject({ code: 'function_not_found' });
  });
});

describe('synchronous invocations', () => {
  beforeAll(async () => {
    await deploy('probe', await uploadZip({ 'index.js': PROBE_FUNCTION, 'package.json': '{"type":"module"}' }), {
      environment: { CODE_VERSION: 'one' },
    });
  });

  it('answers the handler result with the call id and duration', async () => {
    const answer = await invoke('probe', { hello: 'world' }, { 'x-call-id': 'my-call-1' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ echo: { hello: 'world' } });
    expect(answer.headers.get('x-call-id')).toBe('my-call-1');
    expect(Number(answer.headers.get('x-duration-seconds'))).toBeGreaterThan(0);
    expect(answer.headers.get('x-function-error')).toBeNull();
  });

  it('passes an HTTP-shaped event on /function/{name} and shapes the response', async () => {
    const answer = await http(`${platform.httpUrl}/function/probe/any/sub/path?x=1&y=2`, { method: 'POST', body: 'raw body' });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.headers.get('x-seen-path')).toBe('/any/sub/path');
    expect(answer.text).toBe('POST /any/sub/path {"x":"1","y":"2"} raw body');
    expect(answer.headers.get('x-call-id')).toBeTruthy();
    expect(answer.headers.get('x-duration-seconds')).toBeTruthy();

    const root = await http(`${platform.httpUrl}/function/probe`);
    expect(root.status).toBe(201);
    expect(root.headers.get('x-seen-path')).toBe('/');
  });

  it('tells function errors from platform errors', async () => {
    const lambdaStyle = await invoke('probe', { action: 'throw', why: 'testing' });
    expect(lambdaStyle.status).toBe(200);
    expect(lambdaStyle.headers.get('x-function-error')).toBe('TypeError');
    expect(lambdaStyle.json).toMatchObject({ errorType: 'TypeError', errorMessage: 'bad input: testing' });

    // The probe treats bodies with a "method" as HTTP; this route always is
    // HTTP, so make the handler throw via a function that only throws.
    await deploy('thrower', await uploadZip({ 'index.js': 'exports.handler = async () => { throw new RangeError("nope"); };' }));
    const httpStyle = await http(`${platform.httpUrl}/function/thrower`, { method: 'POST', body: '{}' });
    expect(httpStyle.status).toBe(500);
    expect(httpStyle.headers.get('x-function-error')).toBe('RangeError');
    expect(httpStyle.json).toMatchObject({ errorType: 'RangeError', errorMessage: 'nope' });
  });

  it('reuses the warm sandbox, and a code change gets a fresh one', async () => {
    const first = await invoke('probe', { action: 'count' });
    const second = await invoke('probe', { action: 'count' });
    expect(second.json.invocations).toBe(first.json.invocations + 1);
    expect(first.json.version).toBe('one');

    const newCode = PROBE_FUNCTION.replace('let invocations = 0;', 'let invocations = 1000;');
    await deploy('probe', await uploadZip({ 'index.js': newCode, 'package.json': '{"type":"module"}' }), {
      environment: { CODE_VERSION: 'two' },
    });
    const fresh = await invoke('probe', { action: 'count' });
    expect(fresh.json).toMatchObject({ invocations: 1001, version: 'two' });
  });

  it('sizes /tmp from the function\'s config', async () => {
    const digest = await uploadZip({ 'index.js': PROBE_FUNCTION, 'package.json': '{"type":"module"}' });
    const deployed = await deploy('small-tmp', digest, { tmpSizeMb: 8 });
    expect(deployed.json.tmpSizeMb).toBe(8);
    const small = await invoke('small-tmp', { action: 'fill-tmp', mb: 12 });
    expect(small.json).toMatchObject({ error: 'ENOSPC' });
    expect(small.json.written).toBeLessThanOrEqual(8);

    await deploy('default-tmp', digest);
    expect((await invoke('default-tmp', { action: 'fill-tmp', mb: 12 })).json).toEqual({ written: 12, error: null });

    const tooBig = await http(`${platform.httpUrl}/v1/functions/big-tmp`, {
      method: 'PUT',
      json: { runtime: 'nodejs', handler: 'index.handler', code: { digest }, memoryMb: 128, tmpSizeMb: 256 },
    });
    expect(tooBig.status).toBe(400);
    expect(tooBig.json.code).toBe('invalid_function_config');
  });

  it('runs the handler in a locked-down runc sandbox', async () => {
    await deploy('inspector', await uploadZip({ 'index.js': PROBE_FUNCTION, 'package.json': '{"type":"module"}' }), { memoryMb: 192 });
    const answer = await invoke('inspector', { action: 'inspect' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.memoryLimit).toBe(192 * 1024 * 1024);
    expect(answer.json.interfaces).toEqual(['lo']);
    expect(answer.json.rootWrite).toBe('EROFS');
    expect(answer.json.uid).not.toBe(0);
  });
});

describe('asynchronous invocations', () => {
  beforeAll(async () => {
    await deploy('async-probe', await uploadZip({ 'index.js': PROBE_FUNCTION, 'package.json': '{"type":"module"}' }));
  });

  const waitForCall = (callId: string) =>
    eventually(async () => {
      const call = await http(`${platform.httpUrl}/v1/calls/${callId}`);
      return call.json?.status === 'succeeded' || call.json?.status === 'failed' ? call.json : undefined;
    }, 30_000, `call ${callId}`);

  it('runs /async-function through JetStream and the queue-worker', async () => {
    const accepted = await http(`${platform.httpUrl}/async-function/async-probe`, { method: 'POST', body: 'hello async' });
    expect(accepted.status, accepted.text).toBe(202);
    const callId = accepted.headers.get('x-call-id')!;
    expect(callId).toBeTruthy();
    const call = await waitForCall(callId);
    expect(call.status).toBe('succeeded');
    expect(call.functionName).toBe('async-probe');
    expect(call.result.statusCode).toBe(201);
    expect(call.result.body).toContain('hello async');
  });

  it('runs Event invocations on the Lambda-style route', async () => {
    const accepted = await invoke('async-probe', { n: 42 }, { 'x-invocation-type': 'Event' });
    expect(accepted.status).toBe(202);
    const call = await waitForCall(accepted.headers.get('x-call-id')!);
    expect(call).toMatchObject({ status: 'succeeded', result: { echo: { n: 42 } } });
  });

  it('hands a queued CloudEvent to the handler in its sandbox: the data as the event, the attributes in context.cloudEvent', async () => {
    const accepted = await invoke('async-probe', { action: 'cloud-event' }, { 'x-invocation-type': 'Event', 'ce-specversion': '1.0', 'ce-id': 'evt-9', 'ce-source': '/e2e', 'ce-type': 'probe.asked' });
    expect(accepted.status).toBe(202);
    const call = await waitForCall(accepted.headers.get('x-call-id')!);
    expect(call).toMatchObject({
      status: 'succeeded',
      result: { data: { action: 'cloud-event' }, cloudEvent: { specversion: '1.0', id: 'evt-9', source: '/e2e', type: 'probe.asked', datacontenttype: 'application/json' } },
    });
  });

  it('runs events published straight to NATS by another service', async () => {
    const nc = await connect({ servers: platform.natsUrl });
    try {
      await jetstream(nc).publish('faas.invoke.async-probe', JSON.stringify({ from: 'nats' }), { msgID: 'direct-nats-1' });
    } finally {
      await nc.close();
    }
    const call = await waitForCall('direct-nats-1');
    expect(call).toMatchObject({ status: 'succeeded', result: { echo: { from: 'nats' } } });
  });

  it('answers 404 for unknown calls and functions', async () => {
    expect((await http(`${platform.httpUrl}/v1/calls/no-such-call`)).json.code).toBe('call_not_found');
    const unknown = await http(`${platform.httpUrl}/async-function/no-such-fn`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('function_not_found');
  });
});

describe('gRPC from an internal service', () => {
  it('invokes through faas.v1.Controller/Invoke', async () => {
    await deploy('grpc-probe', await uploadZip({ 'index.js': PROBE_FUNCTION, 'package.json': '{"type":"module"}' }));
    const controller = createClient(Controller, platform.addresses.controller, { defaultTimeoutMs: 30_000 });
    try {
      const response = await controller.invoke({
        invocation: {
          functionName: 'grpc-probe',
          callId: 'grpc-call-1',
          kind: InvocationKind.EVENT,
          payload: new TextEncoder().encode(JSON.stringify({ via: 'grpc' })),
          contentType: 'application/json',
        },
      });
      expect(response.result?.callId).toBe('grpc-call-1');
      expect(JSON.parse(new TextDecoder().decode(response.result?.result))).toEqual({ echo: { via: 'grpc' } });
      await expect(
        controller.invoke({ invocation: { functionName: 'nope-missing', kind: InvocationKind.EVENT } }),
      ).rejects.toMatchObject({ code: 'function_not_found' });
    } finally {
      controller.close();
    }
  });
});

describe('shutdown', () => {
  it('leaves no container, cgroup, namespace or mount behind', async () => {
    const before = hostLeftovers(platform.funcletId, platform.funcletStateDir, platform.runcRoot);
    expect(before.containers.length).toBeGreaterThan(0); // the tests above left warm sandboxes
    await platform.stop();
    expect(hostLeftovers(platform.funcletId, platform.funcletStateDir, platform.runcRoot)).toEqual(NOTHING_LEFT);
  });
});
