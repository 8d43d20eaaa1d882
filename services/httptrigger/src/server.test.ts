import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import {
  CallRecordSchema,
  CallStatus,
  FunctionAliasSchema,
  FunctionConfigSchema,
  InvocationKind,
  InvocationResultSchema,
  create,
  type FunctionConfig,
  type Invocation,
} from '@faas/protocol';
import { createLogger } from '@faas/telemetry';
import { buildServer, type HttpTriggerDeps } from './server.js';

const digest = `sha256:${'b'.repeat(64)}`;

const notPartOfThisTest = async (): Promise<never> => {
  throw new PlatformError('service_unavailable', 'not part of this test');
};

function fakes() {
  const functions = new Map<string, FunctionConfig>();
  const invocations: Invocation[] = [];
  const published: { invocation: Invocation; callbackUrl: string }[] = [];
  const uploads: number[] = [];
  // The funclet answers HTTP calls with a checked response and events with JSON bytes; this stands in for both.
  let invokeAnswer: (invocation: Invocation) => Promise<ReturnType<typeof create<typeof InvocationResultSchema>>> = async (invocation) => {
    const body = new TextEncoder().encode(JSON.stringify({ got: new TextDecoder().decode(invocation.payload) }));
    return invocation.kind === InvocationKind.HTTP
      ? create(InvocationResultSchema, { callId: invocation.callId, httpResponse: { status: 200, headers: [{ name: 'content-type', value: 'application/json' }], body } })
      : create(InvocationResultSchema, { callId: invocation.callId, result: body });
  };
  const changed: string[] = [];
  const aliasesPut: unknown[] = [];
  const publisher = { connected: true, publish: async (invocation: Invocation, options: { callbackUrl: string }) => void published.push({ invocation, ...options }) };

  const deps: HttpTriggerDeps = {
    stubs: {
      async putCode(requests) {
        let size = 0;
        for await (const request of requests) size += request.chunk?.byteLength ?? 0;
        uploads.push(size);
        return { digest, size: BigInt(size), created: uploads.length === 1 } as never;
      },
      async putFunction({ function: config }) {
        const existing = functions.get(config!.name!);
        const saved = create(FunctionConfigSchema, { ...config, version: (existing?.version ?? 0n) + 1n, createdAtMs: 1_000n, updatedAtMs: 2_000n });
        functions.set(saved.name, saved);
        return { function: saved, created: !existing } as never;
      },
      async getFunction({ name }) {
        const found = functions.get(name!);
        if (!found) throw new PlatformError('function_not_found', `no function "${name}"`);
        return { function: found } as never;
      },
      async listFunctions() {
        return { functions: [...functions.values()] } as never;
      },
      async deleteFunction({ name }) {
        if (!functions.delete(name!)) throw new PlatformError('function_not_found', `no function "${name}"`);
        return {} as never;
      },
      // Versions and aliases: only what reaches stubs is looked at here (test/versions runs them for real).
      publishVersion: notPartOfThisTest,
      listVersions: notPartOfThisTest,
      deleteVersion: notPartOfThisTest,
      async putAlias(request) {
        aliasesPut.push(request);
        return { alias: create(FunctionAliasSchema, request.alias), created: true } as never;
      },
      getAlias: notPartOfThisTest,
      listAliases: notPartOfThisTest,
      deleteAlias: notPartOfThisTest,
    },
    invoker: {
      async invoke(invocation) {
        invocations.push(invocation);
        return invokeAnswer(invocation);
      },
      functionChanged: (name) => void changed.push(name),
    },
    queueWorker: {
      async getCall({ callId }) {
        if (callId !== 'known-1') throw new PlatformError('call_not_found', 'no such call');
        return {
          call: create(CallRecordSchema, { callId, functionName: 'echo', status: CallStatus.SUCCEEDED, result: new TextEncoder().encode('[1]'), attempts: 2 }),
        } as never;
      },
    },
    publisher,
    knownFunctions: { assertExists: async (name: string) => void (await deps.stubs.getFunction({ name })), forget: () => undefined },
    maxCodeBytes: 1024,
    maxPayloadBytes: 64,
    logger: createLogger('httptrigger-test', 'silent'),
  };
  return { deps, functions, invocations, published, uploads, publisher, changed, aliasesPut, answer: (fn: typeof invokeAnswer) => (invokeAnswer = fn) };
}

let app: FastifyInstance;
let world: ReturnType<typeof fakes>;

beforeEach(async () => {
  world = fakes();
  app = buildServer(world.deps);
  await app.ready();
});
afterEach(() => app.close());

async function deployEcho() {
  const response = await app.inject({ method: 'PUT', url: '/v1/functions/echo', payload: { runtime: 'nodejs', handler: 'index.handler', code: { digest } } });
  expect(response.statusCode).toBe(201);
}

describe('management routes', () => {
  it('uploads code as a stream and tells new from known bundles', async () => {
    const first = await app.inject({ method: 'POST', url: '/v1/code', headers: { 'content-type': 'application/zip' }, payload: Buffer.alloc(600, 1) });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ digest, size: 600 });
    const again = await app.inject({ method: 'POST', url: '/v1/code', payload: Buffer.alloc(600, 1) });
    expect(again.statusCode).toBe(200);
  });

  it('refuses code over the limit with 413', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/code', headers: { 'content-type': 'application/gzip' }, payload: Buffer.alloc(2048) });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'payload_too_large' });
  });

  it('creates, updates, reads, lists and deletes functions', async () => {
    await deployEcho();
    const updated = await app.inject({ method: 'PUT', url: '/v1/functions/echo', payload: { runtime: 'nodejs', handler: 'index.other', code: { digest }, memoryMb: 256 } });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ name: 'echo', handler: 'index.other', memoryMb: 256, timeoutSeconds: 30, version: 2, code: { digest } });
    expect(updated.json().createdAt).toBe('1970-01-01T00:00:01.000Z');

    expect((await app.inject({ method: 'GET', url: '/v1/functions/echo' })).json()).toMatchObject({ name: 'echo', version: 2 });
    expect((await app.inject({ method: 'GET', url: '/v1/functions' })).json().functions).toHaveLength(1);
    expect((await app.inject({ method: 'DELETE', url: '/v1/functions/echo' })).statusCode).toBe(204);
    const gone = await app.inject({ method: 'GET', url: '/v1/functions/echo' });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'function_not_found' });
    // Each deploy and the delete made this edge's leases on the function stale.
    expect(world.changed).toEqual(['echo', 'echo', 'echo']);
  });

  it('answers 400 naming the problem for bad function bodies', async () => {
    const invalidJson = await app.inject({ method: 'PUT', url: '/v1/functions/echo', headers: { 'content-type': 'application/json' }, payload: '{nope' });
    expect(invalidJson.statusCode).toBe(400);
    expect(invalidJson.json()).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/JSON/) });
    const wrongType = await app.inject({ method: 'PUT', url: '/v1/functions/echo', payload: { runtime: 'nodejs', handler: 1, code: { digest } } });
    expect(wrongType.json()).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/"handler"/) });
    const unknown = await app.inject({ method: 'PUT', url: '/v1/functions/echo', payload: { runtime: 'nodejs', handler: 'a.b', code: { digest }, colour: 'red' } });
    expect(unknown.json()).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/colour/) });
    const notJson = await app.inject({ method: 'PUT', url: '/v1/functions/echo', headers: { 'content-type': 'text/plain' }, payload: 'x' });
    expect(notJson.statusCode).toBe(415);
  });

  it('shows asynchronous calls and unknown ones as 404', async () => {
    const known = await app.inject({ method: 'GET', url: '/v1/calls/known-1' });
    expect(known.json()).toMatchObject({ callId: 'known-1', status: 'succeeded', result: [1], attempts: 2 });
    const unknown = await app.inject({ method: 'GET', url: '/v1/calls/other' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'call_not_found' });
    expect((await app.inject({ method: 'GET', url: '/v1/calls/bad%20id' })).statusCode).toBe(400);
  });
});

describe('routing', () => {
  it('answers unknown routes 404 and wrong methods 405 with Allow', async () => {
    const missing = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'route_not_found' });
    const wrongMethod = await app.inject({ method: 'PATCH', url: '/v1/functions/echo' });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, HEAD, PUT, DELETE');
    expect(wrongMethod.json()).toMatchObject({ code: 'method_not_allowed' });
    expect((await app.inject({ method: 'GET', url: '/v1/functions/echo/invocations' })).statusCode).toBe(405);
  });

  it('reports health and the NATS connection', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok', nats: 'connected', auth: 'off' });
    world.publisher.connected = false;
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok', nats: 'disconnected', auth: 'off' });
  });
});

describe('event invocations', () => {
  it('passes the raw body and answers the result with call id and duration', async () => {
    const response = await app.inject({
      method: 'POST', url: '/v1/functions/echo/invocations', headers: { 'content-type': 'text/plain', 'x-call-id': 'mine-1' }, payload: 'hello',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ got: 'hello' });
    expect(response.headers['x-call-id']).toBe('mine-1');
    expect(Number(response.headers['x-duration-seconds'])).toBeGreaterThanOrEqual(0);
    expect(world.invocations[0]).toMatchObject({ functionName: 'echo', callId: 'mine-1', kind: InvocationKind.EVENT, contentType: 'text/plain' });
  });

  it('generates a call id and keeps it on platform errors', async () => {
    world.answer(async () => {
      throw new PlatformError('no_funclets', 'nobody home');
    });
    const response = await app.inject({ method: 'POST', url: '/v1/functions/echo/invocations', payload: '{}' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ code: 'no_funclets', message: 'nobody home' });
    expect(response.headers['x-call-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers['x-duration-seconds']).toBeDefined();
  });

  it('answers a function error with 200 and X-Function-Error', async () => {
    world.answer(async () => create(InvocationResultSchema, { functionError: { type: 'RangeError', message: 'too far' } }));
    const response = await app.inject({ method: 'POST', url: '/v1/functions/echo/invocations', payload: '{}' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-function-error']).toBe('RangeError');
    expect(response.json()).toEqual({ errorType: 'RangeError', errorMessage: 'too far' });
  });

  it('refuses bodies over the limit, bad call ids and bad names', async () => {
    const large = await app.inject({ method: 'POST', url: '/v1/functions/echo/invocations', payload: 'x'.repeat(65) });
    expect(large.statusCode).toBe(413);
    const badId = await app.inject({ method: 'POST', url: '/v1/functions/echo/invocations', headers: { 'x-call-id': 'no way' }, payload: '' });
    expect(badId.statusCode).toBe(400);
    const badName = await app.inject({ method: 'POST', url: '/v1/functions/Echo_1/invocations', payload: '' });
    expect(badName.json()).toMatchObject({ code: 'invalid_function_name' });
    expect(world.invocations).toHaveLength(0);
  });

  it('queues with X-Invocation-Type: Event after checking the function exists', async () => {
    const missing = await app.inject({ method: 'POST', url: '/v1/functions/echo/invocations', headers: { 'x-invocation-type': 'Event' }, payload: '{}' });
    expect(missing.statusCode).toBe(404);
    expect(world.published).toHaveLength(0);

    await deployEcho();
    const queued = await app.inject({
      method: 'POST', url: '/v1/functions/echo/invocations', headers: { 'x-invocation-type': 'Event', 'x-call-id': 'async-1', 'content-type': 'application/json' }, payload: '{"a":1}',
    });
    expect(queued.statusCode).toBe(202);
    expect(queued.json()).toEqual({ callId: 'async-1' });
    expect(queued.headers['x-call-id']).toBe('async-1');
    expect(world.published[0]!.invocation).toMatchObject({ functionName: 'echo', callId: 'async-1', kind: InvocationKind.EVENT, contentType: 'application/json' });
  });

  it('answers 503 when NATS cannot take the call', async () => {
    await deployEcho();
    world.publisher.publish = async () => {
      throw new PlatformError('service_unavailable', 'NATS is not connected');
    };
    const response = await app.inject({ method: 'POST', url: '/async-function/echo', payload: '{}' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'service_unavailable' });
  });
});

describe('versions and aliases', () => {
  it('sends a call\'s qualifier, from the path or ?qualifier=, in one canonical form', async () => {
    await deployEcho();
    for (const url of ['/function/echo:3', '/function/echo?qualifier=3', '/function/echo:3/sub?qualifier=3']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    expect((await app.inject({ method: 'POST', url: '/v1/functions/echo:live/invocations', payload: 'x' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/function/echo:$LATEST' })).statusCode).toBe(200);
    expect(world.invocations.map((invocation) => invocation.functionName)).toEqual(['echo:3', 'echo:3', 'echo:3', 'echo:live', 'echo']);
  });

  it('refuses a qualifier that is neither $LATEST, a number nor an alias, or that disagrees with the path', async () => {
    for (const url of ['/function/echo:0', '/function/echo:a.b', '/function/echo:3?qualifier=4', '/function/echo?qualifier=-x']) {
      const response = await app.inject({ method: 'GET', url });
      expect([response.statusCode, response.json().code], url).toEqual([400, 'invalid_qualifier']);
    }
    expect(world.invocations).toEqual([]);
  });

  it('takes aliases in Lambda\'s shape and refuses bodies that are not', async () => {
    const put = await app.inject({ method: 'PUT', url: '/v1/functions/echo/aliases/live', payload: { functionVersion: '1', routingConfig: { additionalVersionWeights: { '2': 0.25 } } } });
    expect(put.statusCode).toBe(201);
    expect(put.json()).toMatchObject({ name: 'live', functionVersion: '1', routingConfig: { additionalVersionWeights: { '2': 0.25 } } });
    expect(world.aliasesPut).toMatchObject([{ functionName: 'echo', alias: { name: 'live', functionVersion: 1, additionalVersion: 2, additionalWeight: 0.25 } }]);
    for (const [payload, code] of [
      [{}, 'bad_request'],
      [{ functionVersion: 'latest' }, 'bad_request'],
      [{ functionVersion: '1', extra: true }, 'bad_request'],
      [{ functionVersion: '1', routingConfig: { additionalVersionWeights: { '2': 0.1, '3': 0.1 } } }, 'invalid_alias'],
      [{ functionVersion: '1', routingConfig: { additionalVersionWeights: { '2': 'half' } } }, 'bad_request'],
      [{ name: 'other', functionVersion: '1' }, 'bad_request'],
    ] as const) {
      const response = await app.inject({ method: 'PUT', url: '/v1/functions/echo/aliases/live', payload });
      expect([response.statusCode >= 400 && response.statusCode < 500, response.json().code], JSON.stringify(payload)).toEqual([true, code]);
    }
    expect(world.aliasesPut).toHaveLength(1);
  });
});

describe('HTTP invocations', () => {
  it('describes the request below /function/<name> and shapes the response', async () => {
    world.answer(async (invocation) =>
      create(InvocationResultSchema, { httpResponse: { status: 418, headers: [{ name: 'x-path', value: invocation.http!.path }], body: Buffer.from('teapot') } }),
    );
    const response = await app.inject({ method: 'DELETE', url: '/function/echo/a/b?x=1&y', headers: { 'x-custom': 'v', connection: 'keep-alive' }, payload: 'body' });
    expect(response.statusCode).toBe(418);
    expect(response.headers['x-path']).toBe('/a/b');
    expect(response.body).toBe('teapot');
    expect(response.headers['x-call-id']).toBeDefined();
    const invocation = world.invocations[0]!;
    expect(invocation.kind).toBe(InvocationKind.HTTP);
    expect(invocation.http).toMatchObject({ method: 'DELETE', path: '/a/b', rawQuery: 'x=1&y' });
    expect(invocation.http!.headers['x-custom']).toBe('v');
    expect(invocation.http!.headers).not.toHaveProperty('connection');
    expect(new TextDecoder().decode(invocation.payload)).toBe('body');
  });

  it('serves the function root, empty bodies, HEAD and OPTIONS', async () => {
    const root = await app.inject({ method: 'GET', url: '/function/echo' });
    expect(root.statusCode).toBe(200);
    expect(root.json()).toEqual({ got: '' });
    expect(world.invocations[0]!.http!.path).toBe('/');
    expect((await app.inject({ method: 'HEAD', url: '/function/echo/x' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'OPTIONS', url: '/function/echo/x' })).statusCode).toBe(200);
    expect(world.invocations.map((i) => i.http!.method)).toEqual(['GET', 'HEAD', 'OPTIONS']);
  });

  it('passes a malformed Content-Type to the function instead of refusing it', async () => {
    const response = await app.inject({ method: 'POST', url: '/function/echo', headers: { 'content-type': 'garbage' }, payload: 'x' });
    expect(response.statusCode).toBe(200);
    expect(world.invocations[0]!.contentType).toBe('garbage');
    expect(world.invocations[0]!.http!.headers['content-type']).toBe('garbage');
  });

  it('passes bytes that are not UTF-8 untouched', async () => {
    await app.inject({ method: 'POST', url: '/function/echo', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from([0xff, 0xfe, 0x00]) });
    expect([...world.invocations[0]!.payload]).toEqual([0xff, 0xfe, 0x00]);
  });

  it('answers 500 for function errors and 504 for timeouts', async () => {
    world.answer(async () => create(InvocationResultSchema, { functionError: { type: 'Timeout', message: 'after 3 s' } }));
    const timeout = await app.inject({ method: 'GET', url: '/function/echo' });
    expect(timeout.statusCode).toBe(504);
    expect(timeout.headers['x-function-error']).toBe('Timeout');
    expect(timeout.json()).toEqual({ errorType: 'Timeout', errorMessage: 'after 3 s' });
    world.answer(async () => create(InvocationResultSchema, { functionError: { type: 'Error', message: 'x', stack: 'secret' } }));
    const error = await app.inject({ method: 'GET', url: '/function/echo' });
    expect(error.statusCode).toBe(500);
    expect(error.body).not.toContain('secret');
  });

  it('queues /async-function calls as HTTP invocations', async () => {
    await deployEcho();
    const response = await app.inject({ method: 'POST', url: '/async-function/echo/hook?z=9', headers: { 'x-callback-url': 'http://127.0.0.1:1/cb' }, payload: 'p' });
    expect(response.statusCode).toBe(202);
    const { invocation, callbackUrl } = world.published[0]!;
    expect(invocation.kind).toBe(InvocationKind.HTTP);
    expect(invocation.http).toMatchObject({ method: 'POST', path: '/hook', rawQuery: 'z=9' });
    expect(callbackUrl).toBe('http://127.0.0.1:1/cb');
    expect(response.json()).toEqual({ callId: invocation.callId });
  });
});
