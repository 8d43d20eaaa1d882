import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { LambdaError, lambdaShapeOf } from './errors.js';
import { parseAccessKeyList, parseCredentialsFile } from './sigv4.js';

describe('Lambda error shapes', () => {
  it('maps platform codes onto the types the SDK raises, with Lambda\'s statuses', () => {
    expect(lambdaShapeOf(new PlatformError('too_many_requests', 'busy'))).toMatchObject({ type: 'TooManyRequestsException', status: 429 });
    expect(lambdaShapeOf(new PlatformError('alias_not_found', 'no'))).toMatchObject({ type: 'ResourceNotFoundException', status: 404 });
    expect(lambdaShapeOf(new PlatformError('function_exists', 'dup'))).toMatchObject({ type: 'ResourceConflictException', status: 409 });
    expect(lambdaShapeOf(new PlatformError('invalid_qualifier', 'bad'))).toMatchObject({ type: 'InvalidParameterValueException', status: 400 });
    expect(lambdaShapeOf(new TypeError('boom'))).toMatchObject({ type: 'ServiceException', status: 500 });
    expect(lambdaShapeOf(new LambdaError('unauthenticated', 'InvalidSignatureException', 403, 'no'))).toMatchObject({ type: 'InvalidSignatureException', status: 403 });
  });

  it('reads access keys from a list and from a shared-credentials file', () => {
    expect([...parseAccessKeyList('AK1:s1, AK2:s:2')]).toEqual([['AK1', 's1'], ['AK2', 's:2']]);
    expect(() => parseAccessKeyList('AK1')).toThrow(/id:secret/);
    const file = '[default]\naws_access_key_id = AK1\naws_secret_access_key = s1\n\n[other]\naws_access_key_id=AK2\naws_secret_access_key=s2\n';
    expect([...parseCredentialsFile(file)]).toEqual([['AK1', 's1'], ['AK2', 's2']]);
  });
});
