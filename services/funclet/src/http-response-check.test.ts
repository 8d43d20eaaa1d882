import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { checkHttpHead } from './http-response-check.js';

const plain = (head: ReturnType<typeof checkHttpHead>) => ({ status: head.status, headers: head.headers.map(({ name, value }) => ({ name, value })) });

describe('checkHttpHead', () => {
  it('lower-cases names and keeps Set-Cookie values apart, other repeats joined', () => {
    expect(plain(checkHttpHead({ status: 201, headers: { 'X-Thing': 'a', 'set-cookie': ['a=1', 'b=2'], accept: ['x', 'y'] } }))).toEqual({
      status: 201,
      headers: [
        { name: 'x-thing', value: 'a' },
        { name: 'set-cookie', value: 'a=1' },
        { name: 'set-cookie', value: 'b=2' },
        { name: 'accept', value: 'x, y' },
      ],
    });
  });

  it('keeps framing headers and broken values out of the response', () => {
    const head = checkHttpHead({
      status: 200,
      headers: { 'content-length': '1', 'transfer-encoding': 'chunked', 'x-call-id': 'mine', 'bad header': 'x', 'x-crlf': 'a\r\nb', 'x-n': 5, 'x-ok': 'fine' },
    });
    expect(plain(head).headers).toEqual([{ name: 'x-ok', value: 'fine' }]);
  });

  it('refuses an impossible status as bad_gateway', () => {
    for (const status of [42, 200.5, 600, '200', undefined]) {
      expect(() => checkHttpHead({ status, headers: {} })).toThrow(PlatformError);
      try {
        checkHttpHead({ status, headers: {} });
      } catch (error) {
        expect((error as PlatformError).code).toBe('bad_gateway');
      }
    }
    expect(() => checkHttpHead('garbage')).toThrow(/statusCode/);
  });
});
