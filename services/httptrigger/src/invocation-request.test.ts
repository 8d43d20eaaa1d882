import { describe, expect, it } from 'vitest';
import { InvocationKind } from '@faas/protocol';
import { callbackUrlFrom, forwardableHeaders, httpInvocation, isAsyncInvocationType, pathBelowFunction, resolveCallId } from './invocation-request.js';

describe('resolveCallId', () => {
  it('keeps a valid caller id and generates one otherwise', () => {
    expect(resolveCallId('abc-1:2.3_4')).toBe('abc-1:2.3_4');
    expect(resolveCallId(undefined, () => 'generated')).toBe('generated');
    expect(resolveCallId('', () => 'generated')).toBe('generated');
  });
  it('refuses ids that break the pattern', () => {
    expect(() => resolveCallId('has space')).toThrow(/X-Call-Id/);
    expect(() => resolveCallId('x'.repeat(129))).toThrow(/X-Call-Id/);
  });
});

describe('pathBelowFunction', () => {
  it('always starts the path with a slash and keeps the query raw', () => {
    expect(pathBelowFunction('/function/echo')).toEqual({ path: '/', rawQuery: '' });
    expect(pathBelowFunction('/function/echo/')).toEqual({ path: '/', rawQuery: '' });
    expect(pathBelowFunction('/function/echo?a=1&b=%20')).toEqual({ path: '/', rawQuery: 'a=1&b=%20' });
    expect(pathBelowFunction('/function/echo/a/b%2Fc?x')).toEqual({ path: '/a/b%2Fc', rawQuery: 'x' });
    expect(pathBelowFunction('/async-function/echo//deep/')).toEqual({ path: '//deep/', rawQuery: '' });
  });
});

describe('forwardableHeaders', () => {
  it('drops hop-by-hop headers, including those named by Connection, and joins repeats', () => {
    expect(
      forwardableHeaders({
        host: 'example',
        connection: 'keep-alive, X-Secret-Hop',
        'x-secret-hop': 'no',
        'transfer-encoding': 'chunked',
        'set-cookie': ['a=1', 'b=2'],
        'x-ok': 'yes',
      }),
    ).toEqual({ host: 'example', 'set-cookie': 'a=1, b=2', 'x-ok': 'yes' });
  });
});

describe('httpInvocation', () => {
  it('describes the request for the function', () => {
    const invocation = httpInvocation({
      functionName: 'echo',
      callId: 'c1',
      method: 'PATCH',
      rawUrl: '/function/echo/items/7?verbose=1',
      headers: { 'content-type': 'text/plain', 'x-a': 'b' },
      payload: new Uint8Array([1, 2]),
    });
    expect(invocation.kind).toBe(InvocationKind.HTTP);
    expect(invocation.contentType).toBe('text/plain');
    expect(invocation.http).toMatchObject({ method: 'PATCH', path: '/items/7', rawQuery: 'verbose=1', headers: { 'x-a': 'b' } });
    expect([...invocation.payload]).toEqual([1, 2]);
  });
});

describe('header options', () => {
  it('reads X-Invocation-Type', () => {
    expect(isAsyncInvocationType(undefined)).toBe(false);
    expect(isAsyncInvocationType('RequestResponse')).toBe(false);
    expect(isAsyncInvocationType('Event')).toBe(true);
    expect(() => isAsyncInvocationType('DryRun')).toThrow(/X-Invocation-Type/);
  });
  it('accepts only http(s) callback URLs', () => {
    expect(callbackUrlFrom(undefined)).toBe('');
    expect(callbackUrlFrom('http://127.0.0.1:9000/done')).toBe('http://127.0.0.1:9000/done');
    expect(() => callbackUrlFrom('file:///etc/passwd')).toThrow(/X-Callback-Url/);
    expect(() => callbackUrlFrom('not a url')).toThrow(/X-Callback-Url/);
  });
});
