export { serviceDefinition } from './definition.js';
export { CALL_ID, FUNCTION_NAME, assertCallId, assertFunctionName } from './identifiers.js';
export {
  ENVELOPE_ASYNC_INVOCATION,
  ENVELOPE_HEADER,
  INVOCATION_SUBJECT_PREFIX,
  LOG_STREAM,
  LOG_SUBJECT_PREFIX,
  invocationSubject,
  logSubject,
  type LogLine,
} from './subjects.js';
export { toServiceError, fromServiceError } from './error-mapping.js';
export { ERROR_CODE_KEY, AUTHORIZATION_KEY } from './metadata.js';
export { addService, addHealthService, listen, shutdown, grpc, type CallContext, type ServeOptions, type ServiceImpl } from './server.js';
export { createClient, type CallOptions, type Client, type ClientOptions } from './client.js';

export * from './gen/faas/v1/function_pb.js';
export * from './gen/faas/v1/invocation_pb.js';
export * from './gen/faas/v1/stubs_pb.js';
export * from './gen/faas/v1/controller_pb.js';
export * from './gen/faas/v1/funclet_pb.js';
export * from './gen/faas/v1/queue_worker_pb.js';
export { Health, HealthCheckResponse_ServingStatus } from './gen/grpc/health/v1/health_pb.js';
export { create, toBinary, fromBinary, toJson, fromJson, type MessageInitShape } from '@bufbuild/protobuf';
