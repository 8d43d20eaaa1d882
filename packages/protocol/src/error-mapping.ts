import * as grpc from '@grpc/grpc-js';
import { PlatformError, codeForGrpcStatus, isErrorCode, toPlatformError, type ErrorCode } from '@faas/errors';
import { create } from '@bufbuild/protobuf';
import { ERROR_CODE_KEY, RETRY_AFTER_KEY } from './metadata.js';
import { CallFailureSchema, type CallFailure } from './gen/faas/v1/calls_pb.js';

/** A PlatformError as a gRPC error: status from the catalogue, code in trailers. */
export function toServiceError(error: unknown): Partial<grpc.StatusObject> & Error {
  const platformError = toPlatformError(error);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, platformError.code);
  if (platformError.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_KEY, String(platformError.retryAfterMs));
  return Object.assign(new Error(platformError.message), {
    code: platformError.grpcStatus,
    details: platformError.message,
    metadata,
  });
}

/**
 * A gRPC failure as a PlatformError. The code travels in trailers between
 * our services; failures that never reached a handler (connection refused,
 * deadline) are classified by status. `peer` names the service for messages.
 */
export function fromServiceError(error: unknown, peer: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const serviceError = error as Partial<grpc.ServiceError>;
  if (typeof serviceError.code !== 'number') return toPlatformError(error);

  const sentCode = serviceError.metadata?.get(ERROR_CODE_KEY)?.[0];
  if (isErrorCode(sentCode)) {
    const retryAfterMs = Number(serviceError.metadata?.get(RETRY_AFTER_KEY)?.[0] ?? Number.NaN);
    return new PlatformError(sentCode, serviceError.details || serviceError.message, { cause: error, retryAfterMs: retryAfterMs >= 0 ? retryAfterMs : undefined });
  }
  const code: ErrorCode = codeForGrpcStatus(serviceError.code);
  const reason = serviceError.details || serviceError.message || 'no details';
  const message =
    code === 'service_unavailable'
      ? `${peer} is unavailable: ${reason}`
      : code === 'deadline_exceeded'
        ? `${peer} did not answer in time`
        : `${peer} failed: ${reason}`;
  return new PlatformError(code, message, { cause: error });
}

/** A call's platform failure as it travels in a CallOutcome. */
export function toCallFailure(error: unknown): CallFailure {
  const failure = toPlatformError(error);
  return create(CallFailureSchema, { code: failure.code, message: failure.message, retryAfterMs: failure.retryAfterMs ?? 0 });
}

/** A CallOutcome's failure as the error callers throw; an unknown code (a newer peer's) is `internal`. */
export function fromCallFailure(failure: CallFailure): PlatformError {
  return new PlatformError(isErrorCode(failure.code) ? failure.code : 'internal', failure.message || failure.code, {
    retryAfterMs: failure.retryAfterMs > 0 ? failure.retryAfterMs : undefined,
  });
}
