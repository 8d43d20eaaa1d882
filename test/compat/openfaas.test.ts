// The OpenFaaS gateway API on the whole platform, driven with the exact
// requests faas-cli 0.16 sends (proxy/*.go: methods, paths, headers,
// bodies) and checked against the status codes it accepts: login, secret
// create/list/remove, deploy with --image/--fprocess, list, describe,
// invoke, invoke --async with a callback, logs, remove. Also event payloads
// arriving as JSON whatever their content type says, and HTTP triggers.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

const USER = 'admin';
const PASSWORD = 'pass-of-the-openfaas-test';
const SECRET_VALUE = 'value-of-the-api-key';
const USER_AGENT = 'faas-cli/0.16.38 (openfaas; linux; amd64)';

let platform: Platform;
let callbacks: Server;
let callbackPort = 0;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** Headers faas-cli's proxy client sets on a /system request once logged in (newRequest + BasicAuth.Set). */
const cli = (body?: unknown): RequestInit => ({
  headers: { 'user-agent': USER_AGENT, authorization: basic(USER, PASSWORD), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const system = (method: string, pathAndQuery: string, body?: unknown) => http(`${platform.httpUrl}${pathAndQuery}`, { method, ...cli(body) });

/** The FunctionDeployment faas-cli marshals for `deploy --image … --fprocess … --name … --secret …`. */
const deployment = (name: string, image: string, fprocess: string, extra: Record<string, unknown> = {}) => ({
  service: name,
  image,
  envProcess: fprocess,
  labels: {},
  annotations: null,
  ...extra,
});

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'openfaas-test-'));
  const passwordFile = path.join(dir, 'basic-auth-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  callbacks = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString() });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => callbacks.listen(0, '127.0.0.1', resolve));
  callbackPort = (callbacks.address() as { port: number }).port;
  platform = await startPlatform({ serviceEnv: { httptrigger: { FAAS_BASIC_AUTH_USER: USER, FAAS_BASIC_AUTH_PASSWORD_FILE: passwordFile } } });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await new Promise((resolve) => callbacks?.close(resolve));
});

describe('OpenFaaS gateway API, as faas-cli 0.16 uses it', () => {
  it('refuses /system/* without login (faas-cli sends an empty Bearer) and accepts the login check', async () => {
    const anonymous = await http(`${platform.httpUrl}/system/functions`, { headers: { 'user-agent': USER_AGENT, authorization: 'Bearer ' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const wrong = await http(`${platform.httpUrl}/system/functions`, { headers: { authorization: basic(USER, 'wrong') } });
    expect(wrong.status).toBe(401);
    // `faas-cli login` checks its credentials with this request.
    const login = await system('GET', '/system/functions');
    expect(login.status, login.text).toBe(200);
    expect(login.json).toEqual([]);
    // Invocations and health stay open, as on OpenFaaS.
    expect((await http(`${platform.httpUrl}/healthz`)).status).toBe(200);
    const info = await system('GET', '/system/info');
    expect(info.json).toMatchObject({ provider: { provider: 'faas-engine', orchestration: 'runc' }, arch: expect.any(String) });
    expect((await system('GET', '/system/namespaces')).json).toEqual(['openfaas-fn']);
  });

  it('creates, lists and refuses duplicate secrets, never showing a value, and stores them encrypted', async () => {
    const created = await system('POST', '/system/secrets', { name: 'api-key', value: SECRET_VALUE });
    expect([200, 201, 202], created.text).toContain(created.status);
    const duplicate = await system('POST', '/system/secrets', { name: 'api-key', value: 'other' });
    expect(duplicate.status).toBe(409);
    const raw = await system('POST', '/system/secrets', { name: 'raw-one', rawValue: Buffer.from([0, 1, 2, 255]).toString('base64') });
    expect(raw.status).toBe(201);
    const updateMissing = await system('PUT', '/system/secrets', { name: 'missing', value: 'x' });
    expect(updateMissing.status).toBe(404);
    const listed = await system('GET', '/system/secrets');
    expect(listed.json).toEqual([
      { name: 'api-key', namespace: 'openfaas-fn' },
      { name: 'raw-one', namespace: 'openfaas-fn' },
    ]);
    expect(listed.text).not.toContain(SECRET_VALUE);

    const redis = new Redis(platform.redisUrl, { lazyConnect: true });
    try {
      await redis.connect();
      const keys = await redis.keys('*secrets*');
      expect(keys).toHaveLength(1);
      const stored = await redis.hgetall(keys[0]!);
      expect(Object.keys(stored).sort()).toEqual(['api-key', 'raw-one']);
      expect(JSON.stringify(stored)).not.toContain(SECRET_VALUE);
      expect(JSON.stringify(stored)).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
    } finally {
      redis.disconnect();
    }
    const keyFile = path.join(platform.workDir, 'stubs', 'secrets.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile)).toHaveLength(32);
  });

  it('deploys with --image/--fprocess (update first, then create on 404), lists, describes, invokes and removes', async () => {
    const fprocess = 'echo reading the key >&2; cat /var/openfaas/secrets/api-key; printf " "; cat';
    const body = deployment('reader', 'ghcr.io/openfaas/alpine:latest', fprocess, { secrets: ['api-key'], labels: { team: 'blue', 'com.openfaas.scale.max': '4' } });
    // faas-cli deploy: PUT first, POST when the function does not exist.
    const update = await system('PUT', '/system/functions', body);
    expect(update.status).toBe(404);
    const create = await system('POST', '/system/functions', body);
    expect([200, 201, 202], create.text).toContain(create.status);
    expect(create.headers.get('x-faas-image-note')).toMatch(/default base root filesystem/);
    const again = await system('PUT', '/system/functions', body);
    expect(again.status).toBe(202);

    const unresolvable = await system('POST', '/system/functions', { service: 'nothing', image: 'ghcr.io/openfaas/alpine:latest' });
    expect(unresolvable.status).toBe(400);
    expect(unresolvable.json).toMatchObject({ code: 'invalid_image' });
    const missingSecret = await system('POST', '/system/functions', deployment('lost', 'ghcr.io/x/y:1', 'cat', { secrets: ['no-such-secret'] }));
    expect(missingSecret.status).toBe(404);
    expect(missingSecret.json).toMatchObject({ code: 'secret_not_found' });

    const listed = await system('GET', '/system/functions');
    expect(listed.json).toEqual([
      expect.objectContaining({ name: 'reader', image: 'ghcr.io/openfaas/alpine:latest', namespace: 'openfaas-fn', envProcess: fprocess, secrets: ['api-key'], labels: { team: 'blue', 'com.openfaas.scale.max': '4' }, availableReplicas: 1 }),
    ]);
    expect(listed.json[0]).not.toHaveProperty('annotations');
    const described = await system('GET', '/system/function/reader?namespace=openfaas-fn');
    expect(described.status).toBe(200);
    expect(described.json).toMatchObject({ name: 'reader', limits: { memory: '128Mi' } });
    expect((await system('GET', '/system/function/absent')).status).toBe(404);

    // faas-cli invoke: text/plain by default, the name with or without its namespace.
    for (const target of ['reader', 'reader.openfaas-fn']) {
      const answer = await http(`${platform.httpUrl}/function/${target}`, { method: 'POST', headers: { 'user-agent': USER_AGENT, 'content-type': 'text/plain' }, body: 'hello' });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).toBe(`${SECRET_VALUE} hello`);
    }
    expect((await http(`${platform.httpUrl}/function/reader.other-namespace`, { method: 'POST', body: 'x' })).status).toBe(404);

    // faas-cli invoke --async, with a callback.
    const queued = await http(`${platform.httpUrl}/async-function/reader`, {
      method: 'POST',
      headers: { 'user-agent': USER_AGENT, 'content-type': 'text/plain', 'x-callback-url': `http://127.0.0.1:${callbackPort}/done` },
      body: 'later',
    });
    expect(queued.status, queued.text).toBe(202);
    const callId = queued.headers.get('x-call-id');
    expect(callId).toBeTruthy();
    const callback = await eventually(async () => received.find((entry) => entry.headers['x-call-id'] === callId), 30_000, 'the callback');
    expect(callback.body).toBe(`${SECRET_VALUE} later`);
    expect(callback.headers['x-function-status']).toBe('200');

    // faas-cli logs reader --tail=false --lines=-1 (follow=false, tail=-1).
    const logs = await eventually(async () => {
      const answer = await system('GET', '/system/logs?name=reader&follow=false&tail=-1');
      const lines = answer.text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
      return lines.length >= 3 ? { answer, lines } : undefined;
    }, 20_000, 'three log lines');
    expect(logs.answer.headers.get('content-type')).toMatch(/ndjson/);
    expect(logs.lines[0]).toEqual({ name: 'reader', namespace: 'openfaas-fn', instance: expect.any(String), timestamp: expect.any(String), text: 'reading the key' });
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await system('GET', `/system/logs?name=reader&follow=false&since=${encodeURIComponent(future)}`)).text).toBe('');

    // The secrets are there read-only, one file each.
    const writer = await system('POST', '/system/functions', deployment('writer', 'ghcr.io/openfaas/alpine:latest', 'ls /var/openfaas/secrets; (echo x > /var/openfaas/secrets/api-key) 2>/dev/null || echo refused', { secrets: ['api-key', 'raw-one'] }));
    expect(writer.status, writer.text).toBe(202);
    const tried = await http(`${platform.httpUrl}/function/writer`, { method: 'POST', body: '' });
    expect(tried.text).toBe('api-key\nraw-one\nrefused\n');
    expect((await system('DELETE', '/system/functions', { functionName: 'writer' })).status).toBe(202);

    expect((await system('POST', '/system/scale-function/reader', { serviceName: 'reader', replicas: 1 })).status).toBe(202);
    expect((await system('GET', '/system/function/reader')).json).toMatchObject({ replicas: 1 });

    const removed = await system('DELETE', '/system/functions', { functionName: 'reader' });
    expect([200, 202], removed.text).toContain(removed.status);
    expect((await system('DELETE', '/system/functions', { functionName: 'reader' })).status).toBe(404);
    const secretRemoved = await system('DELETE', '/system/secrets', { name: 'api-key' });
    expect([200, 202]).toContain(secretRemoved.status);
    expect((await system('DELETE', '/system/secrets', { name: 'api-key' })).status).toBe(404);
    expect((await system('GET', '/system/secrets')).json).toEqual([{ name: 'raw-one', namespace: 'openfaas-fn' }]);
  });

  it('runs an image that names a runtime and a digest, with its handler as envProcess', async () => {
    const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'main.js': 'exports.run = async (event) => ({ got: event });\n' }) });
    const deployed = await system('POST', '/system/functions', deployment('noded', `nodejs@${upload.json.digest}`, 'main.run', { limits: { memory: '256Mi' } }));
    expect(deployed.status, deployed.text).toBe(202);
    expect(deployed.headers.get('x-faas-image-note')).toBeNull();
    const described = await system('GET', '/system/function/noded');
    expect(described.json).toMatchObject({ image: `nodejs@${upload.json.digest}`, envProcess: 'main.run', limits: { memory: '256Mi' } });
    const answer = await http(`${platform.httpUrl}/v1/functions/noded/invocations`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(answer.json).toEqual({ got: { a: 1 } });
  });
});

describe('event payloads', () => {
  it('are the parsed JSON whatever the content type, else a string or bytes, in Node and Python', async () => {
    const node = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': "exports.handler = async (event) => ({ kind: Buffer.isBuffer(event) ? 'bytes' : typeof event, event: Buffer.isBuffer(event) ? event.toString('hex') : event });\n" }) });
    const python = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'main.py': "def handler(event, context):\n    return {'kind': type(event).__name__, 'event': event.hex() if isinstance(event, bytes) else event}\n" }) });
    for (const [name, runtime, handler, digest] of [['ev-node', 'nodejs', 'index.handler', node.json.digest], ['ev-py', 'python3', 'main.handler', python.json.digest]] as const) {
      const put = await http(`${platform.httpUrl}/v1/functions/${name}`, { method: 'PUT', json: { runtime, handler, code: { digest } } });
      expect(put.status, put.text).toBeLessThan(300);
      const call = (body: string | Uint8Array, contentType: string) => http(`${platform.httpUrl}/v1/functions/${name}/invocations`, { method: 'POST', body, headers: { 'content-type': contentType } });
      // What `curl -d '{"x":1}'` sends.
      expect((await call('{"x":1}', 'application/x-www-form-urlencoded')).json).toMatchObject({ event: { x: 1 } });
      expect((await call('plain words', 'text/plain')).json).toEqual({ kind: runtime === 'python3' ? 'str' : 'string', event: 'plain words' });
      expect((await call(new Uint8Array([0xff, 0x00, 0x80]), 'application/octet-stream')).json).toEqual({ kind: 'bytes', event: 'ff0080' });
    }
  });
});

/** A request with a Host header of our choosing (fetch may not set one). */
function requestWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { headers: { host } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('HTTP triggers', () => {
  const ROUTER = `exports.handler = async (event) => {
  if (event.path.startsWith('/files/')) return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: event.body, isBase64Encoded: event.isBase64Encoded };
  return { statusCode: 200, headers: { 'content-type': 'application/json', 'x-route': process.env.ROUTE }, body: JSON.stringify({ route: process.env.ROUTE, method: event.method, path: event.path, params: event.pathParameters, query: event.query }) };
};
`;
  const trigger = (name: string, body: unknown) => http(`${platform.httpUrl}/v1/triggers/${name}`, { method: 'PUT', json: body });

  beforeAll(async () => {
    const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': ROUTER }) });
    for (const route of ['users', 'admin']) {
      const put = await http(`${platform.httpUrl}/v1/functions/router-${route}`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, environment: { ROUTE: route } } });
      expect(put.status, put.text).toBe(201);
    }
  });

  it('binds methods, path patterns and hosts, refuses clashes and platform paths, and answers CORS', async () => {
    const users = await trigger('users', { type: 'http', methods: ['get', 'POST'], path: '/api/users/:id', function: 'router-users', cors: { allowOrigins: ['https://app.example'], exposeHeaders: ['x-route'], maxAgeSeconds: 600 } });
    expect(users.status, users.text).toBe(201);
    expect(users.json).toMatchObject({ type: 'http', methods: ['GET', 'POST'], path: '/api/users/:id', host: '', function: 'router-users' });
    expect((await trigger('admin', { type: 'http', methods: ['GET'], path: '/api/users/:id', host: 'admin.example', function: 'router-admin' })).status).toBe(201);
    expect((await trigger('files', { type: 'http', path: '/files/*', function: 'router-users' })).status).toBe(201);

    const clash = await trigger('clash', { type: 'http', methods: ['POST'], path: '/api/users/:uid', function: 'router-admin' });
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({ code: 'trigger_conflict', message: expect.stringContaining('users') });
    expect((await trigger('deleter', { type: 'http', methods: ['DELETE'], path: '/api/users/:uid', function: 'router-admin' })).status).toBe(201);
    const reserved = await trigger('sneaky', { type: 'http', path: '/v1/functions', function: 'router-admin' });
    expect(reserved.status).toBe(400);
    expect(reserved.json).toMatchObject({ code: 'invalid_trigger_config' });

    const got = await http(`${platform.httpUrl}/api/users/42?x=1`, { headers: { origin: 'https://app.example' } });
    expect(got.status, got.text).toBe(200);
    expect(got.json).toEqual({ route: 'users', method: 'GET', path: '/api/users/42', params: { id: '42' }, query: { x: '1' } });
    expect(got.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(got.headers.get('access-control-expose-headers')).toBe('x-route');
    expect(got.headers.get('x-call-id')).toBeTruthy();
    expect(JSON.parse((await requestWithHost(`${platform.httpUrl}/api/users/7`, 'admin.example:8080')).body)).toMatchObject({ route: 'admin', params: { id: '7' } });
    expect(JSON.parse((await requestWithHost(`${platform.httpUrl}/api/users/7`, 'other.example')).body)).toMatchObject({ route: 'users' });
    expect((await http(`${platform.httpUrl}/api/users/7`, { method: 'DELETE' })).json).toMatchObject({ route: 'admin', method: 'DELETE' });
    expect((await http(`${platform.httpUrl}/api/users/7`, { method: 'PUT' })).status).toBe(404);

    const preflight = await http(`${platform.httpUrl}/api/users/42`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(preflight.headers.get('access-control-max-age')).toBe('600');
    const stranger = await http(`${platform.httpUrl}/api/users/42`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('passes binary bodies through byte for byte, under a wildcard path', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    const answer = await fetch(`${platform.httpUrl}/files/a/b/c.bin`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(answer.status).toBe(200);
    expect(Buffer.from(await answer.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('stops serving a route once its trigger is deleted', async () => {
    expect((await http(`${platform.httpUrl}/v1/triggers/files`, { method: 'DELETE' })).status).toBe(204);
    const gone = await http(`${platform.httpUrl}/files/x`, { method: 'GET' });
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ code: 'route_not_found' });
  });
});
