import { describe, expect, it } from 'vitest';
import { buildEvent } from './event.js';

const event = (contentType: string, payload: string | Buffer) =>
  buildEvent({ callId: 'c', kind: 'event', contentType, deadlineMs: 0 }, Buffer.isBuffer(payload) ? payload : Buffer.from(payload));

describe('handler events', () => {
  it('parses JSON whatever the content type says, and passes other text as a string and binary as bytes', () => {
    expect(event('', '{"x":1}')).toEqual({ x: 1 });
    expect(event('application/json; charset=utf-8', '[1,2]')).toEqual([1, 2]);
    expect(event('application/x-www-form-urlencoded', '{"x":1}')).toEqual({ x: 1 });
    expect(event('text/plain', '{"x":1}')).toEqual({ x: 1 });
    expect(event('', 'not json')).toBe('not json');
    expect(event('application/octet-stream', Buffer.from([0xff, 0x00]))).toEqual(Buffer.from([0xff, 0x00]));
    expect(event('', '')).toEqual(Buffer.alloc(0));
  });

  it('describes HTTP requests with a parsed query, lower-case headers and a text body', () => {
    const result = buildEvent(
      {
        callId: 'c',
        kind: 'http',
        contentType: 'text/plain',
        deadlineMs: 0,
        http: { method: 'POST', path: '/a/b', rawQuery: 'x=1&y=2&x=3&z=', headers: { 'X-Thing': 'v' } },
      },
      Buffer.from('héllo'),
    );
    expect(result).toEqual({
      method: 'POST',
      path: '/a/b',
      query: { x: ['1', '3'], y: '2', z: '' },
      rawQuery: 'x=1&y=2&x=3&z=',
      headers: { 'x-thing': 'v' },
      pathParameters: {},
      body: 'héllo',
      isBase64Encoded: false,
    });
  });

  it('base64-encodes HTTP bodies that are not valid UTF-8', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const result = buildEvent({ callId: 'c', kind: 'http', contentType: '', deadlineMs: 0, http: { method: 'PUT', path: '/', rawQuery: '', headers: {} } }, bytes);
    expect(result).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
  });
});
