import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { InvocationResultSchema, create } from '@faas/protocol';
import { eventReply, httpReply } from './invocation-reply.js';

const ok = (value: unknown) => create(InvocationResultSchema, { result: new TextEncoder().encode(JSON.stringify(value)) });
const failed = (type: string, stack = '') => create(InvocationResultSchema, { functionError: { type, message: 'it broke', stack } });
const answered = (status: number, headers: Array<[string, string]>, body: string) =>
  create(InvocationResultSchema, { httpResponse: { status, headers: headers.map(([name, value]) => ({ name, value })), body: Buffer.from(body) } });

describe('eventReply', () => {
  it('sends the result bytes as JSON, untouched', () => {
    const result = ok({ a: 1 });
    const reply = eventReply(result);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.body).toBe(result.result);
    expect(Buffer.from(reply.body).toString()).toBe('{"a":1}');
  });
  it('sends null for an empty result', () => {
    expect(Buffer.from(eventReply(create(InvocationResultSchema)).body).toString()).toBe('null');
  });
  it('reports a function error with 200, the header and the stack', () => {
    const reply = eventReply(failed('TypeError', 'TypeError: it broke\n    at handler'));
    expect(reply.status).toBe(200);
    expect(reply.headers['x-function-error']).toBe('TypeError');
    expect(JSON.parse(reply.body.toString())).toEqual({ errorType: 'TypeError', errorMessage: 'it broke', stackTrace: ['TypeError: it broke', '    at handler'] });
  });
});

describe('httpReply', () => {
  it('sends the status, headers and body the funclet checked, as they are', () => {
    const reply = httpReply(answered(418, [['x-path', '/a'], ['content-type', 'text/plain']], 'teapot'));
    expect(reply.status).toBe(418);
    expect(reply.headers).toEqual({ 'x-path': '/a', 'content-type': 'text/plain' });
    expect(Buffer.from(reply.body).toString()).toBe('teapot');
  });

  it('gives every Set-Cookie its own header line', () => {
    expect(httpReply(answered(200, [['set-cookie', 'a=1'], ['set-cookie', 'b=2']], '')).headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('answers bad_gateway when the funclet sent no HTTP response', () => {
    expect(() => httpReply(ok([1, 2]))).toThrow(PlatformError);
  });

  it('maps function errors to 500, timeouts to 504, without the stack', () => {
    const error = httpReply(failed('Error', 'Error: it broke\n    at x'));
    expect(error.status).toBe(500);
    expect(error.headers['x-function-error']).toBe('Error');
    expect(JSON.parse(error.body.toString())).toEqual({ errorType: 'Error', errorMessage: 'it broke' });
    expect(httpReply(failed('Timeout')).status).toBe(504);
  });
});
