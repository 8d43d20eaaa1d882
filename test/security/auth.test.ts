// API tokens on the whole platform: the management API refuses calls
// without a valid token (401) or with one lacking the scope (403), tokens
// are made, listed and revoked through the API and kept only as hashes,
// functions are public unless their config says `auth: "token"`, an address
// that keeps sending bad tokens is refused for a while, and FAAS_AUTH=off
// binds the edge to loopback.
import { statSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, startService, type Platform, type RunningService } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { http } from '../support/http.js';

let platform: Platform;
let redis: Redis;
const extraEdges: RunningService[] = [];

const NO_TOKEN = { authorization: '' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function makeToken(name: string, scopes: string[]): Promise<string> {
  const made = await http(`${platform.httpUrl}/v1/tokens`, { method: 'POST', json: { name, scopes } });
  expect(made.status, made.text).toBe(201);
  return made.json.token;
}

async function deploy(name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': 'exports.handler = async (event) => ({ got: event });\n' }) });
  expect(upload.status, upload.text).toBeLessThan(300);
  const put = await http(`${platform.httpUrl}/v1/functions/${name}`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128, ...extra } });
  expect(put.status, put.text).toBeLessThan(300);
}

/** A second edge on the same platform, with its own settings. */
async function edgeWith(env: NodeJS.ProcessEnv): Promise<string> {
  const edge = await startService('httptrigger', {
    REDIS_URL: platform.redisUrl,
    NATS_URL: platform.natsUrl,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    CONTROLLER_ADDRESS: platform.controllerAddresses.join(','),
    STUBS_ADDRESS: platform.addresses.stubs,
    QUEUE_WORKER_ADDRESS: platform.addresses['queue-worker'],
    ...env,
  });
  extraEdges.push(edge);
  return edge.address;
}

beforeAll(async () => {
  platform = await startPlatform({ env: { FUNCLET_POOL_SIZE: '1' } });
  redis = new Redis(platform.redisUrl, { lazyConnect: true });
  await deploy('open-fn');
  await deploy('closed-fn', { auth: 'token' });
}, 120_000);

afterAll(async () => {
  for (const edge of extraEdges) await edge.process.stop();
  redis?.disconnect();
  await platform?.stop();
});

describe('the management API', () => {
  it('keeps the bootstrap admin token in a file only its owner can read', () => {
    expect(platform.credentials?.adminToken).toMatch(/^faas_admin_[A-Za-z0-9_-]{43}$/);
    expect(statSync(platform.credentials!.adminTokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(platform.credentials!.awsCredentialsFile).mode & 0o777).toBe(0o600);
  });

  it('refuses calls without a token, with a malformed header or with an unknown token (401 unauthenticated)', async () => {
    const none = await http(`${platform.httpUrl}/v1/functions`, { headers: NO_TOKEN });
    expect([none.status, none.json.code, none.headers.get('www-authenticate')]).toEqual([401, 'unauthenticated', 'Bearer']);
    const basic = await http(`${platform.httpUrl}/v1/functions`, { headers: { authorization: 'Basic YWRtaW46eA==' } });
    expect([basic.status, basic.json.code]).toEqual([401, 'unauthenticated']);
    const unknown = await http(`${platform.httpUrl}/v1/functions`, { headers: bearer(`faas_${'0'.repeat(16)}_${'A'.repeat(43)}`) });
    expect([unknown.status, unknown.json.code]).toEqual([401, 'unauthenticated']);
    const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', headers: NO_TOKEN, body: zipBundle({ 'index.js': '' }) });
    expect([upload.status, upload.json.code]).toEqual([401, 'unauthenticated']);
    // Health stays open for probes.
    expect((await http(`${platform.httpUrl}/healthz`, { headers: NO_TOKEN })).json).toMatchObject({ status: 'ok', auth: 'on' });
  });

  it('gives each scope what it allows and answers 403 forbidden for the rest', async () => {
    const read = await makeToken('reader', ['read']);
    const deployer = await makeToken('deployer', ['deploy']);
    const invoker = await makeToken('invoker', ['invoke']);

    expect((await http(`${platform.httpUrl}/v1/functions`, { headers: bearer(read) })).status).toBe(200);
    const readWrites = await http(`${platform.httpUrl}/v1/functions/open-fn`, { method: 'DELETE', headers: bearer(read) });
    expect([readWrites.status, readWrites.json.code]).toEqual([403, 'forbidden']);
    const readMakesTokens = await http(`${platform.httpUrl}/v1/tokens`, { method: 'POST', headers: bearer(read), json: { name: 'x', scopes: ['admin'] } });
    expect([readMakesTokens.status, readMakesTokens.json.code]).toEqual([403, 'forbidden']);

    const published = await http(`${platform.httpUrl}/v1/functions/open-fn/versions`, { method: 'POST', headers: bearer(deployer) });
    expect(published.status, published.text).toBeLessThan(300);
    const deployerLists = await http(`${platform.httpUrl}/v1/tokens`, { headers: bearer(deployer) });
    expect([deployerLists.status, deployerLists.json.code]).toEqual([403, 'forbidden']);

    const invokerReads = await http(`${platform.httpUrl}/v1/functions`, { headers: bearer(invoker) });
    expect([invokerReads.status, invokerReads.json.code]).toEqual([403, 'forbidden']);
  });

  it('lists tokens without their text, keeps only hashes, and stops a revoked token at once', async () => {
    const token = await makeToken('short-lived', ['read', 'invoke']);
    const id = token.split('_')[1]!;
    const list = await http(`${platform.httpUrl}/v1/tokens`);
    expect(list.json.tokens).toContainEqual({ id, name: 'short-lived', scopes: ['invoke', 'read'], createdAt: expect.any(String) });
    expect(list.text).not.toContain(token);

    await redis.connect();
    const keys = await redis.keys(`faas-${platform.instanceId}:stubs:token*`);
    const stored = (await Promise.all(keys.filter((key) => key.endsWith(id)).map((key) => redis.get(key)))).join('');
    expect(stored).toContain(id);
    expect(stored).not.toContain(token.split('_')[2]);

    expect((await http(`${platform.httpUrl}/v1/functions`, { headers: bearer(token) })).status).toBe(200);
    expect((await http(`${platform.httpUrl}/v1/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
    const after = await http(`${platform.httpUrl}/v1/functions`, { headers: bearer(token) });
    expect([after.status, after.json.code]).toEqual([401, 'unauthenticated']);
    const again = await http(`${platform.httpUrl}/v1/tokens/${id}`, { method: 'DELETE' });
    expect([again.status, again.json.code]).toEqual([404, 'token_not_found']);
  });

  it('refuses a token request with unknown scopes or fields (400 bad_request)', async () => {
    for (const json of [{ name: 'x', scopes: ['root'] }, { name: 'x', scopes: [] }, { name: 'x', scopes: ['read'], extra: 1 }, { name: '', scopes: ['read'] }, ['read']]) {
      const answer = await http(`${platform.httpUrl}/v1/tokens`, { method: 'POST', json });
      expect([answer.status, answer.json.code], JSON.stringify(json)).toEqual([400, 'bad_request']);
    }
  });
});

describe('invocations', () => {
  it('runs a public function for anyone, on every invocation route', async () => {
    const event = await http(`${platform.httpUrl}/v1/functions/open-fn/invocations`, { method: 'POST', headers: NO_TOKEN, json: { n: 1 } });
    expect([event.status, event.json]).toEqual([200, { got: { n: 1 } }]);
    expect((await http(`${platform.httpUrl}/function/open-fn`, { headers: NO_TOKEN })).status).toBe(200);
    expect((await http(`${platform.httpUrl}/function/open-fn:1`, { headers: NO_TOKEN })).status).toBe(200);
  });

  it('asks an invoke token of a function whose config says auth "token", on every invocation route', async () => {
    const reader = await makeToken('reader-2', ['read']);
    const invoker = await makeToken('invoker-2', ['invoke']);
    expect((await http(`${platform.httpUrl}/v1/functions/closed-fn`)).json.auth).toBe('token');
    for (const [method, route] of [['POST', '/v1/functions/closed-fn/invocations'], ['GET', '/function/closed-fn/x'], ['POST', '/async-function/closed-fn']] as const) {
      const anonymous = await http(`${platform.httpUrl}${route}`, { method, headers: NO_TOKEN });
      expect([anonymous.status, anonymous.json?.code], route).toEqual([401, 'unauthenticated']);
      const wrongScope = await http(`${platform.httpUrl}${route}`, { method, headers: bearer(reader) });
      expect([wrongScope.status, wrongScope.json?.code], route).toEqual([403, 'forbidden']);
      const allowed = await http(`${platform.httpUrl}${route}`, { method, headers: bearer(invoker) });
      expect(allowed.status, `${route} ${allowed.text}`).toBe(route.startsWith('/async') ? 202 : 200);
    }
    // Its versions and aliases follow the function's own setting.
    expect((await http(`${platform.httpUrl}/v1/functions/closed-fn/versions`, { method: 'POST' })).status).toBe(201);
    expect((await http(`${platform.httpUrl}/function/closed-fn:1`, { headers: NO_TOKEN })).status).toBe(401);
  });

  it('applies a change of the setting through this edge at once', async () => {
    await deploy('switch-fn');
    expect((await http(`${platform.httpUrl}/function/switch-fn`, { headers: NO_TOKEN })).status).toBe(200);
    await deploy('switch-fn', { auth: 'token' });
    expect((await http(`${platform.httpUrl}/function/switch-fn`, { headers: NO_TOKEN })).status).toBe(401);
    const refused = await http(`${platform.httpUrl}/v1/functions/switch-fn`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: 'sha256:' + '0'.repeat(64) }, auth: 'secret' } });
    expect([refused.status, refused.json.code]).toEqual([400, 'invalid_function_config']);
  });
});

describe('guessing', () => {
  it('refuses an address that sent too many bad tokens (429 with Retry-After), without closing public functions to it', async () => {
    const edge = `http://${await edgeWith({ FAAS_ADMIN_TOKEN_FILE: platform.credentials!.adminTokenFile, AUTH_MAX_FAILURES: '3' })}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await http(`${edge}/v1/functions`, { headers: bearer(`wrong-${i}`) })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const withRightToken = await http(`${edge}/v1/functions`, { headers: bearer(platform.credentials!.adminToken) });
    expect([withRightToken.status, withRightToken.json.code, Number(withRightToken.headers.get('retry-after'))]).toEqual([429, 'too_many_auth_failures', expect.any(Number)]);
    expect(Number(withRightToken.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await http(`${edge}/function/open-fn`, { headers: NO_TOKEN })).status).toBe(200);
  });

  it('takes the bootstrap admin token from FAAS_ADMIN_TOKEN where a file is awkward (compose)', async () => {
    const token = 'compose-style-admin-token-0123456789abcdef';
    const edge = `http://${await edgeWith({ FAAS_ADMIN_TOKEN: token })}`;
    expect((await http(`${edge}/v1/functions`, { headers: bearer(token) })).status).toBe(200);
    expect((await http(`${edge}/v1/functions`, { headers: bearer(platform.credentials!.adminToken) })).status).toBe(401);
  });

  it('binds loopback only when auth is off, unless told otherwise', async () => {
    const address = await edgeWith({ FAAS_AUTH: 'off', HTTP_HOST: '' });
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await http(`http://${address}/v1/functions`, { headers: NO_TOKEN })).status).toBe(200);
    expect((await http(`http://${address}/healthz`)).json.auth).toBe('off');
  });
});
