import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { PlatformError } from '@faas/errors';
import { fromCallFailure, fromServiceError, toCallFailure, toServiceError } from './error-mapping.js';

describe('error mapping', () => {
  it('carries the code, the message and a retry hint through gRPC trailers', () => {
    const sent = toServiceError(new PlatformError('too_many_requests', 'at its limit', { retryAfterMs: 1_500 }));
    const received = fromServiceError({ ...sent, code: sent.code!, details: sent.details!, metadata: sent.metadata! } as grpc.ServiceError, 'controller');
    expect(received).toMatchObject({ code: 'too_many_requests', message: 'at its limit', retryAfterMs: 1_500 });
    const plain = toServiceError(new PlatformError('function_not_found'));
    expect(fromServiceError(plain as grpc.ServiceError, 'stubs').retryAfterMs).toBeUndefined();
  });

  it('carries them through a call outcome, an unknown code becoming internal', () => {
    expect(fromCallFailure(toCallFailure(new PlatformError('too_many_requests', 'full', { retryAfterMs: 900 })))).toMatchObject({ code: 'too_many_requests', retryAfterMs: 900 });
    expect(fromCallFailure(toCallFailure(new PlatformError('sandbox_busy'))).retryAfterMs).toBeUndefined();
    expect(fromCallFailure({ $typeName: 'faas.v1.CallFailure', code: 'from_the_future', message: 'x', retryAfterMs: 0 }).code).toBe('internal');
  });

  it('classifies a failure that never reached a handler by its status', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: grpc.status.UNAVAILABLE, details: 'No connection established', metadata: new grpc.Metadata() });
    expect(fromServiceError(refused, 'stubs')).toMatchObject({ code: 'service_unavailable', message: 'stubs is unavailable: No connection established' });
  });
});
