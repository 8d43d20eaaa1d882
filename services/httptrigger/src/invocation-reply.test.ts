import { describe, expect, it } from 'vitest';
import { InvocationResultSchema, create } from '@faas/protocol';
import { eventReply, httpReply } from './invocation-reply.js';

const ok = (value: unknown) => create(InvocationResultSchema, { result: new TextEncoder().encode(JSON.stringify(value)) });
const failed = (type: string, stack = '') => create(InvocationResultSchema, { functionError: { type, message: 'it broke', stack } });

describe('eventReply', () => {
  it('sends the result as JSON', () => {
    const reply = eventReply(ok({ a: 1 }));
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.body.toString()).toBe('{"a":1}');
  });
  it('sends null for an empty result', () => {
    expect(eventReply(create(InvocationResultSchema)).body.toString()).toBe('null');
  });
  it('reports a function error with 200, the header and the stack', () => {
    const reply = eventReply(failed('TypeError', 'TypeError: it broke\n    at handler'));
    expect(reply.status).toBe(200);
    expect(reply.headers['x-function-error']).toBe('TypeError');
    expect(JSON.parse(reply.body.toString())).toEqual({ errorType: 'TypeError', errorMessage: 'it broke', stackTrace: ['TypeError: it broke', '    at handler'] });
  });
});

describe('httpReply', () => {
  it('sends a plain value as 200 JSON', () => {
    const reply = httpReply(ok([1, 2]));
    expect(reply).toMatchObject({ status: 200, headers: { 'content-type': expect.stringMatching(/json/) } });
    expect(reply.body.toString()).toBe('[1,2]');
  });

  it('shapes the response from statusCode, headers and body', () => {
    const reply = httpReply(ok({ statusCode: 201, headers: { 'X-Thing': 'a', 'Content-Type': 'text/html' }, body: '<p>hi</p>' }));
    expect(reply.status).toBe(201);
    expect(reply.headers).toEqual({ 'x-thing': 'a', 'content-type': 'text/html' });
    expect(reply.body).toBe('<p>hi</p>');
  });

  it('decodes base64 bodies and JSON-encodes non-string ones', () => {
    const binary = httpReply(ok({ statusCode: 200, body: Buffer.from([0, 255]).toString('base64'), isBase64Encoded: true }));
    expect([...(binary.body as Buffer)]).toEqual([0, 255]);
    expect(binary.headers['content-type']).toBe('application/octet-stream');
    const json = httpReply(ok({ statusCode: 202, body: { queued: true } }));
    expect(json.body).toBe('{"queued":true}');
    expect(json.headers['content-type']).toMatch(/json/);
    expect(httpReply(ok({ statusCode: 204 })).body).toBe('');
  });

  it('keeps framing headers and broken values out of the response', () => {
    const reply = httpReply(
      ok({ statusCode: 200, headers: { 'content-length': '1', 'transfer-encoding': 'chunked', 'bad header': 'x', 'x-crlf': 'a\r\nb', 'x-n': 5 }, body: 'x' }),
    );
    expect(reply.headers).toEqual({ 'x-n': '5', 'content-type': 'text/plain; charset=utf-8' });
  });

  it('sets cookies from both places', () => {
    const reply = httpReply(ok({ statusCode: 200, headers: { 'set-cookie': 'a=1' }, cookies: ['b=2'] }));
    expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('answers 502 when the function asks for an impossible status', () => {
    expect(httpReply(ok({ statusCode: 42 })).status).toBe(502);
    expect(httpReply(ok({ statusCode: 200.5 })).status).toBe(502);
  });

  it('maps function errors to 500, timeouts to 504, without the stack', () => {
    const error = httpReply(failed('Error', 'Error: it broke\n    at x'));
    expect(error.status).toBe(500);
    expect(error.headers['x-function-error']).toBe('Error');
    expect(JSON.parse(error.body.toString())).toEqual({ errorType: 'Error', errorMessage: 'it broke' });
    expect(httpReply(failed('Timeout')).status).toBe(504);
  });
});
