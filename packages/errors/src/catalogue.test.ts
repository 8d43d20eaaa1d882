import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, PlatformError, codeForGrpcStatus, GrpcStatus, toPlatformError } from './index.js';

describe('error catalogue', () => {
  it('gives every code an HTTP error status and a description', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^[a-z][a-z_]+$/);
      expect(entry.http).toBeGreaterThanOrEqual(400);
      expect(entry.http).toBeLessThan(600);
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });

  it('derives statuses and JSON from the code', () => {
    const error = new PlatformError('function_not_found', 'no function "x"');
    expect(error.httpStatus).toBe(404);
    expect(error.grpcStatus).toBe(GrpcStatus.NOT_FOUND);
    expect(JSON.parse(JSON.stringify(error))).toEqual({ code: 'function_not_found', message: 'no function "x"' });
  });

  it('maps gRPC statuses without a code to the closest code', () => {
    expect(codeForGrpcStatus(GrpcStatus.UNAVAILABLE)).toBe('service_unavailable');
    expect(codeForGrpcStatus(GrpcStatus.DEADLINE_EXCEEDED)).toBe('deadline_exceeded');
    expect(codeForGrpcStatus(999)).toBe('internal');
  });

  it('wraps foreign errors without losing platform errors', () => {
    const original = new PlatformError('too_many_requests');
    expect(toPlatformError(original)).toBe(original);
    const wrapped = toPlatformError(new TypeError('boom'), 'bad_gateway');
    expect(wrapped.code).toBe('bad_gateway');
    expect(wrapped.message).toBe('boom');
  });
});
