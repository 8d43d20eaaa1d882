/**
 * Lambda's error shape: the type in `x-amzn-errortype` and the body
 * `{Type, Message}` (plus `message`, which some SDKs read), with the status
 * Lambda uses, so an AWS SDK raises its typed exception
 * (ResourceNotFoundException, ...). Our platform codes map onto Lambda's
 * types; Lambda-only failures (signatures) carry their type themselves.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { PlatformError, type ErrorCode } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import { toHttpError } from '../http-errors.js';

/** A failure with a Lambda type of its own (no platform code says it). */
export class LambdaError extends PlatformError {
  constructor(
    code: ErrorCode,
    readonly lambdaType: string,
    readonly lambdaStatus: number,
    message: string,
  ) {
    super(code, message);
  }
}

const TYPE_OF_CODE: Partial<Record<ErrorCode, string>> = {
  function_not_found: 'ResourceNotFoundException',
  version_not_found: 'ResourceNotFoundException',
  alias_not_found: 'ResourceNotFoundException',
  runtime_not_found: 'ResourceNotFoundException',
  secret_not_found: 'ResourceNotFoundException',
  route_not_found: 'ResourceNotFoundException',
  version_in_use: 'ResourceConflictException',
  function_exists: 'ResourceConflictException',
  alias_exists: 'ResourceConflictException',
  secret_exists: 'ResourceConflictException',
  too_many_requests: 'TooManyRequestsException',
  payload_too_large: 'RequestTooLargeException',
  unsupported_media_type: 'UnsupportedMediaTypeException',
  unauthenticated: 'UnrecognizedClientException',
  service_unavailable: 'ServiceException',
  no_funclets: 'ServiceException',
  bad_gateway: 'ServiceException',
  sandbox_failed: 'ServiceException',
  deadline_exceeded: 'ServiceException',
  internal: 'ServiceException',
};

/** Lambda's status for each type it has (its own table, not our catalogue's). */
const STATUS_OF_TYPE: Record<string, number> = {
  ResourceNotFoundException: 404,
  ResourceConflictException: 409,
  InvalidParameterValueException: 400,
  TooManyRequestsException: 429,
  RequestTooLargeException: 413,
  UnsupportedMediaTypeException: 415,
  UnrecognizedClientException: 403,
  ServiceException: 500,
};

export function lambdaShapeOf(error: unknown): { type: string; status: number; message: string; code: ErrorCode } {
  if (error instanceof LambdaError) return { type: error.lambdaType, status: error.lambdaStatus, message: error.message, code: error.code };
  const failure = toHttpError(error);
  // Every client mistake we catalogue (bad fields, names, qualifiers, bundles) is one of a parameter's value to Lambda.
  const type = TYPE_OF_CODE[failure.code] ?? (failure.httpStatus < 500 ? 'InvalidParameterValueException' : 'ServiceException');
  return { type, status: STATUS_OF_TYPE[type] ?? failure.httpStatus, message: failure.message, code: failure.code };
}

/** Answers every failure in `scope` (the Lambda routes) in Lambda's shape. */
export function answerLambdaErrors(scope: FastifyInstance, logger: Logger): void {
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const shape = lambdaShapeOf(error);
    if (shape.code === 'internal') logger.error({ err: error, method: request.method, url: request.url }, 'request failed');
    const body = { Type: shape.status >= 500 ? 'Service' : 'User', Message: shape.message, message: shape.message };
    void reply.status(shape.status).header('x-amzn-errortype', shape.type).type('application/json').send(body);
  });
}
