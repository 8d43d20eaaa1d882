import { describe, expect, it } from 'vitest';
import { httpReplyOf } from './http-reply.js';

const text = (body: Uint8Array) => Buffer.from(body).toString();

describe('httpReplyOf', () => {
  it('sends a plain value as 200 JSON', () => {
    const reply = httpReplyOf([1, 2]);
    expect(reply.head).toEqual({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(text(reply.body)).toBe('[1,2]');
    expect(text(httpReplyOf(undefined).body)).toBe('null');
  });

  it('shapes the response from statusCode, headers and body', () => {
    const reply = httpReplyOf({ statusCode: 201, headers: { 'X-Thing': 'a', 'Content-Type': 'text/html' }, body: '<p>hi</p>' });
    expect(reply.head).toEqual({ status: 201, headers: { 'X-Thing': 'a', 'Content-Type': 'text/html' } });
    expect(text(reply.body)).toBe('<p>hi</p>');
  });

  it('decodes base64 bodies and JSON-encodes non-string ones', () => {
    const binary = httpReplyOf({ statusCode: 200, body: Buffer.from([0, 255]).toString('base64'), isBase64Encoded: true });
    expect([...binary.body]).toEqual([0, 255]);
    expect(binary.head.headers['content-type']).toBe('application/octet-stream');
    const json = httpReplyOf({ statusCode: 202, body: { queued: true } });
    expect(text(json.body)).toBe('{"queued":true}');
    expect(json.head.headers['content-type']).toMatch(/json/);
    expect(text(httpReplyOf({ statusCode: 204 }).body)).toBe('');
  });

  it('writes numbers and booleans as header text and leaves out other values', () => {
    const reply = httpReplyOf({ statusCode: 200, headers: { 'x-n': 5, 'x-b': true, 'x-o': { a: 1 }, 'x-list': ['a', 2] }, body: 'x' });
    expect(reply.head.headers).toEqual({ 'x-n': '5', 'x-b': 'true', 'x-list': ['a', '2'], 'content-type': 'text/plain; charset=utf-8' });
  });

  it('sets cookies from both places', () => {
    expect(httpReplyOf({ statusCode: 200, headers: { 'set-cookie': 'a=1' }, cookies: ['b=2'] }).head.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('passes an impossible status on for the funclet to refuse', () => {
    expect(httpReplyOf({ statusCode: 42 }).head.status).toBe(42);
  });
});
