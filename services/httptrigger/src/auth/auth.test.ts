import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { ApiTokenSchema, FunctionConfigSchema, create, formatTokenText } from '@faas/protocol';
import { bearerTokenOf } from './bearer.js';
import { FailureThrottle } from './failure-throttle.js';
import { FunctionAccess } from './function-access.js';
import { guardFor } from './route-guards.js';
import { allows } from './scopes.js';
import { TokenVerifier, sha256 } from './token-verifier.js';

const ID = '0123456789abcdef';
const TEXT = formatTokenText(ID, 'S'.repeat(43));

describe('TokenVerifier', () => {
  const record = create(ApiTokenSchema, { id: ID, name: 'ci', scopes: ['deploy'], textSha256: sha256(TEXT) });

  it('knows the bootstrap admin token by its hash and stubs\' tokens by id and hash', async () => {
    const lookups: string[] = [];
    const verifier = new TokenVerifier({ bootstrapAdminHash: sha256('faas_admin_secret'), lookup: async (id) => (lookups.push(id), id === ID ? record : undefined), cacheMs: 1_000 });
    expect(await verifier.verify('faas_admin_secret')).toEqual({ tokenId: 'bootstrap-admin', scopes: ['admin'] });
    expect(verifier.isBootstrapAdmin('faas_admin_secret')).toBe(true);
    expect(verifier.isBootstrapAdmin('faas_admin_secreT')).toBe(false);
    expect(await verifier.verify(TEXT)).toEqual({ tokenId: ID, scopes: ['deploy'] });
    // Same id, other secret: the hash tells them apart.
    expect(await verifier.verify(formatTokenText(ID, 'T'.repeat(43)))).toBeUndefined();
    expect(await verifier.verify('not-a-token')).toBeUndefined();
    expect(lookups).toEqual([ID]);
  });

  it('asks stubs again after the cache time, and at once after forget', async () => {
    let now = 0;
    let calls = 0;
    const verifier = new TokenVerifier({ lookup: async () => (calls++, record), cacheMs: 1_000, now: () => now });
    await verifier.verify(TEXT);
    await verifier.verify(TEXT);
    now = 1_000;
    await verifier.verify(TEXT);
    verifier.forget(ID);
    await verifier.verify(TEXT);
    expect(calls).toBe(3);
  });
});

describe('FailureThrottle', () => {
  it('refuses an address past its failures until the window ends, others not', () => {
    let now = 0;
    const throttle = new FailureThrottle({ maxFailures: 2, windowMs: 10_000, now: () => now });
    throttle.recordFailure('a');
    expect(throttle.blockedForMs('a')).toBe(0);
    throttle.recordFailure('a');
    now = 4_000;
    expect(throttle.blockedForMs('a')).toBe(6_000);
    expect(throttle.blockedForMs('b')).toBe(0);
    now = 10_000;
    expect(throttle.blockedForMs('a')).toBe(0);
  });

  it('remembers a bounded number of addresses', () => {
    const throttle = new FailureThrottle({ maxFailures: 1, windowMs: 10_000, maxAddresses: 2 });
    for (const address of ['a', 'b', 'c']) throttle.recordFailure(address);
    expect([throttle.blockedForMs('a'), throttle.blockedForMs('c') > 0]).toEqual([0, true]);
  });
});

describe('scopes', () => {
  it('lets admin do everything, deploy read and invoke, and the others only their own', () => {
    expect(allows(['admin'], ['admin'])).toBe(true);
    expect(allows(['deploy'], ['read'])).toBe(true);
    expect(allows(['deploy'], ['invoke'])).toBe(true);
    expect(allows(['deploy'], ['admin'])).toBe(false);
    expect(allows(['read'], ['deploy'])).toBe(false);
    expect(allows(['invoke'], ['read', 'invoke'])).toBe(true);
    expect(allows(['toString'], ['read'])).toBe(false);
  });
});

describe('bearerTokenOf', () => {
  it('takes "Bearer <token>" and refuses every other shape with unauthenticated', () => {
    expect(bearerTokenOf(undefined)).toBeUndefined();
    expect(bearerTokenOf('Bearer abc')).toBe('abc');
    expect(bearerTokenOf('bearer  abc ')).toBe('abc');
    for (const header of ['Basic abc', 'Bearer', 'Bearer a b', `Bearer ${'x'.repeat(600)}`, '']) {
      expect(() => bearerTokenOf(header), header).toThrowError(expect.objectContaining({ code: 'unauthenticated' }));
    }
  });
});

describe('guardFor', () => {
  it('guards every management route by scope and invocations by the function\'s setting', () => {
    expect(guardFor('GET', '/v1/functions')).toEqual({ kind: 'scopes', scopes: ['read'] });
    expect(guardFor('PUT', '/v1/functions/:name')).toEqual({ kind: 'scopes', scopes: ['deploy'] });
    expect(guardFor('POST', '/v1/code')).toEqual({ kind: 'scopes', scopes: ['deploy'] });
    expect(guardFor('GET', '/v1/tokens')).toEqual({ kind: 'scopes', scopes: ['admin'] });
    expect(guardFor('DELETE', '/v1/tokens/:id')).toEqual({ kind: 'scopes', scopes: ['admin'] });
    expect(guardFor('GET', '/v1/calls/:callId')).toEqual({ kind: 'scopes', scopes: ['read', 'invoke'] });
    expect(guardFor('POST', '/v1/functions/:name/invocations')).toEqual({ kind: 'function' });
    expect(guardFor('GET', '/function/:name/*')).toEqual({ kind: 'function' });
    expect(guardFor('POST', '/async-function/:name')).toEqual({ kind: 'function' });
    expect(guardFor('GET', '/healthz')).toEqual({ kind: 'none' });
  });
});

describe('FunctionAccess', () => {
  const config = (auth: string) => create(FunctionConfigSchema, { name: 'f', auth });

  it('answers from memory once known and refreshes in the background, keeping the last answer while stubs is away', async () => {
    let now = 0;
    let answer: () => Promise<ReturnType<typeof config> | undefined> = async () => config('token');
    const access = new FunctionAccess(() => answer(), 1_000, () => now);
    expect(await access.needsToken('f')).toBe(true);
    expect(access.needsToken('f')).toBe(true);
    answer = async () => config('');
    now = 1_000;
    expect(access.needsToken('f')).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(access.needsToken('f')).toBe(false);
    answer = async () => {
      throw new PlatformError('service_unavailable');
    };
    now = 2_000;
    expect(access.needsToken('f')).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(access.needsToken('f')).toBe(false);
  });

  it('treats an unknown function as public without remembering it, and a stubs failure on first sight as 503', async () => {
    const access = new FunctionAccess(async () => {
      throw new PlatformError('function_not_found');
    }, 1_000);
    expect(await access.needsToken('nope')).toBe(false);
    const down = new FunctionAccess(async () => {
      throw new Error('connection refused');
    }, 1_000);
    await expect(down.needsToken('f')).rejects.toMatchObject({ code: 'service_unavailable' });
  });
});
