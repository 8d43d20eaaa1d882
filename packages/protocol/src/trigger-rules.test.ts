import { describe, expect, it } from 'vitest';
import { httpRoutesClash } from './trigger-rules.js';

const claim = (path: string, methods: string[] = [], host = '') => ({ path, methods, host });

describe('HTTP trigger clashes', () => {
  it('are the same host, a shared method and one shape of pattern', () => {
    expect(httpRoutesClash(claim('/users/:id', ['GET']), claim('/users/:uid', ['GET', 'PUT']))).toBe(true);
    expect(httpRoutesClash(claim('/files/*'), claim('/files/*', ['DELETE']))).toBe(true);
    expect(httpRoutesClash(claim('/users/:id', ['GET']), claim('/users/:id', ['POST']))).toBe(false);
    expect(httpRoutesClash(claim('/users/:id', [], 'a.example'), claim('/users/:id', [], 'b.example'))).toBe(false);
    expect(httpRoutesClash(claim('/users/:id', [], 'A.example'), claim('/users/:id', [], 'a.example'))).toBe(true);
    // The more specific route wins at run time: no clash.
    expect(httpRoutesClash(claim('/users/me'), claim('/users/:id'))).toBe(false);
  });
});
