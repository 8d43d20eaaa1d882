export { serviceDefinition } from './definition.js';
export { CALL_ID, FUNCTION_NAME, SECRET_NAME, assertCallId, assertFunctionName } from './identifiers.js';
export { ALIAS_NAME, LATEST, VERSION_NUMBER, assertQualifiedName, formatQualifiedName, formatQualifier, isQualifiedName, parseQualifiedName, parseQualifier, qualifiedNameOf, qualifiedTarget, type QualifiedName, type Qualifier } from './qualified-name.js';
export { BUILT_IN_RUNTIMES, CODE_DIGEST_RULE, CONCURRENCY_PER_SANDBOX, CUSTOM_RUNTIME, CUSTOM_RUNTIME_PREFIX, FORMAT_SNIFF_BYTES, FUNCLET_ID, FUNCLET_ID_MAX_CHARS, FUNCLET_ID_RULE, ASYNC_BASE_DELAY_MS, ASYNC_MAX_ATTEMPTS, ASYNC_MAX_DELAY_MS, CALLBACK_SECRET_BYTES, IDLE_TIMEOUT_SECONDS, MAX_CONCURRENCY, MEMORY_MB, RESERVED_CONCURRENCY, TIMEOUT_SECONDS, TMP_SIZE_MB, asyncPolicyProblem, callbackSecretProblem, codeDigestHex, codeDigestOf, concurrencyProblem, customRuntimeName, handlerProblem, isCodeDigest, isCustomRuntime, isModuleHandler, isWithin, runtimeFamily, servesConcurrentCalls, sniffBundleFormat, withDefault, type BundleFormat, type Range } from './function-rules.js';
export {
  CALLBACK_URL_HEADER,
  DEAD_LETTER_STREAM,
  DEAD_LETTER_SUBJECT_PREFIX,
  RESULT_SUBJECT_HEADER,
  SOURCE_HEADER,
  deadLetterSubject,
  ENVELOPE_ASYNC_INVOCATION,
  ENVELOPE_HEADER,
  INVOCATION_SUBJECT_PREFIX,
  LOG_STREAM,
  LOG_SUBJECT_PREFIX,
  invocationSubject,
  logSubject,
  type LogLine,
} from './subjects.js';
export { toServiceError, fromServiceError, toCallFailure, fromCallFailure } from './error-mapping.js';
export { decodeAsyncInvocation, encodeAsyncInvocation } from './async-invocation-codec.js';
export { ERROR_CODE_KEY, RETRY_AFTER_KEY, AUTHORIZATION_KEY } from './metadata.js';
export { addService, addHealthService, listen, shutdown, grpc, type CallContext, type DuplexStream, type ServeOptions, type ServiceImpl } from './server.js';
export { createClient, type CallOptions, type Client, type ClientOptions, type DuplexCall } from './client.js';
export { configureTransportSecurity, type TransportSecurityConfig } from './transport-security.js';
export { Coalescer } from './coalescer.js';

export { BUNDLE_LIMITS, bundleEntryPath, linkTargetProblem } from './bundle-rules.js';
export { CRON_FIELDS, HTTP_TRIGGER_METHODS, TRIGGER_EVENT_MAX_BYTES, TRIGGER_TYPES, cronFieldCount, httpPathProblem, httpRouteShape, httpRoutesClash, isTimeZone, isTriggerType, subjectCovers, subjectMatches, triggerSubjectProblem, type HttpRouteClaim, type TriggerType } from './trigger-rules.js';
export * from './gen/faas/v1/calls_pb.js';
export * from './gen/faas/v1/function_pb.js';
export * from './gen/faas/v1/invocation_pb.js';
export * from './gen/faas/v1/stubs_pb.js';
export * from './gen/faas/v1/controller_pb.js';
export * from './gen/faas/v1/funclet_pb.js';
export * from './gen/faas/v1/queue_worker_pb.js';
export * from './gen/faas/v1/tokens_pb.js';
export { TOKEN_ID, TOKEN_NAME, TOKEN_SCOPES, formatTokenText, isTokenScope, tokenIdOf, type TokenScope } from './api-token.js';
export { Health, HealthCheckResponse_ServingStatus } from './gen/grpc/health/v1/health_pb.js';
export { create, toBinary, fromBinary, toJson, fromJson, type MessageInitShape } from '@bufbuild/protobuf';
export { HOP_BY_HOP_HEADERS } from './http-headers.js';
export { SCALE_MAX_LABEL, SCALE_MIN_LABEL, SCALE_ZERO_DURATION_LABEL, SCALE_ZERO_LABEL, memoryMbOfQuantity, openFaasScaleLimits } from './openfaas-rules.js';
