/**
 * Every platform error the engine can report, in one place. Each code is
 * stable (clients match on it), and carries the gRPC status used between
 * services and the HTTP status shown at the edge. The README renders this
 * table for users; keep the two in step.
 */

/** gRPC status codes (numeric values from the gRPC spec, kept here so this
 * package depends on nothing). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

export interface ErrorEntry {
  readonly grpc: GrpcStatusCode;
  readonly http: number;
  readonly description: string;
}

export const ERROR_CATALOGUE = {
  bad_request: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'The request is malformed: a missing or invalid field, header or body.',
  },
  invalid_function_name: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'Function names are 1-63 characters of a-z, 0-9 and "-", starting with a letter.',
  },
  invalid_function_config: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'The function configuration is invalid (runtime, handler, memory, timeout, environment).',
  },
  invalid_code_bundle: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: "The code bundle is not a zip or tar.gz archive, is empty, cannot be unpacked safely, or (a custom runtime's) lacks its bootstrap or a valid runtime.json.",
  },
  code_not_found: {
    grpc: GrpcStatus.FAILED_PRECONDITION,
    http: 400,
    description: 'No code bundle with this digest has been uploaded.',
  },
  invalid_trigger_config: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'The trigger configuration is invalid (type, subject, schedule, timezone, function or event).',
  },
  unsupported_media_type: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 415,
    description: 'The request body has a content type this route does not accept.',
  },
  payload_too_large: {
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    http: 413,
    description: 'The request body is larger than the limit for this route.',
  },
  unauthenticated: {
    grpc: GrpcStatus.UNAUTHENTICATED,
    http: 401,
    description: 'The call carries no valid credentials (no token, an unknown or revoked one, or a malformed Authorization header).',
  },
  forbidden: {
    grpc: GrpcStatus.PERMISSION_DENIED,
    http: 403,
    description: "The call's token is valid but lacks the scope this route needs.",
  },
  too_many_auth_failures: {
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    http: 429,
    description: 'Too many calls with bad credentials came from this address; wait for Retry-After before trying again.',
  },
  token_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No API token with this id exists (it may have been revoked).',
  },
  function_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No function with this name is deployed.',
  },
  version_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'The function has no published version with this number.',
  },
  alias_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'The function has no alias with this name.',
  },
  invalid_qualifier: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'The qualifier is neither $LATEST, a version number nor a valid alias name.',
  },
  invalid_alias: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'The alias names a version that does not exist, or its routing weight is outside 0..1.',
  },
  version_in_use: {
    grpc: GrpcStatus.FAILED_PRECONDITION,
    http: 409,
    description: 'An alias points at this version; re-point or delete the alias first.',
  },
  runtime_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No custom runtime with this name is registered.',
  },
  call_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No asynchronous call with this id is known (it may have expired).',
  },
  trigger_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No trigger with this name exists.',
  },
  dead_letter_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No dead-lettered call with this id is kept (never dead-lettered, already replayed, or expired).',
  },
  sandbox_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'The funclet has no sandbox with this id (it was recycled or the funclet restarted).',
  },
  sandbox_busy: {
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    http: 429,
    description: 'The sandbox is already running as many calls as its function allows; the caller places the call again.',
  },
  function_exists: {
    grpc: GrpcStatus.ALREADY_EXISTS,
    http: 409,
    description: 'A function with this name exists already (Lambda\'s CreateFunction); update it instead.',
  },
  alias_exists: {
    grpc: GrpcStatus.ALREADY_EXISTS,
    http: 409,
    description: 'The function has an alias with this name already (Lambda\'s CreateAlias); update it instead.',
  },
  trigger_conflict: {
    grpc: GrpcStatus.ALREADY_EXISTS,
    http: 409,
    description: 'Another HTTP trigger already serves this method, path pattern and host.',
  },
  secret_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No secret with this name exists (a function that lists one cannot start until it does).',
  },
  secret_exists: {
    grpc: GrpcStatus.ALREADY_EXISTS,
    http: 409,
    description: 'A secret with this name exists already; update it instead.',
  },
  invalid_secret: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'Secret names are 1-253 characters of a-z, A-Z, 0-9, ".", "_" and "-"; values are at most 512 KiB.',
  },
  invalid_image: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    http: 400,
    description: 'An OpenFaaS deployment names an image this platform cannot run: "<runtime>@sha256:<hex>" or "sha256:<hex>" with an envProcess, or any image with an envProcess.',
  },
  route_not_found: {
    grpc: GrpcStatus.NOT_FOUND,
    http: 404,
    description: 'No route matches this method and path.',
  },
  method_not_allowed: {
    grpc: GrpcStatus.UNIMPLEMENTED,
    http: 405,
    description: 'The route exists but does not accept this HTTP method (the Allow header lists those it does).',
  },
  too_many_requests: {
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    http: 429,
    description: 'The function is at its concurrency limit and its wait queue is full, or no host has room for another sandbox.',
  },
  no_funclets: {
    grpc: GrpcStatus.UNAVAILABLE,
    http: 503,
    description: 'No funclet (sandbox host) is registered and alive.',
  },
  service_unavailable: {
    grpc: GrpcStatus.UNAVAILABLE,
    http: 503,
    description: 'A service this request depends on is down or unreachable.',
  },
  bad_gateway: {
    grpc: GrpcStatus.UNAVAILABLE,
    http: 502,
    description: 'A service behind this one failed while handling the request.',
  },
  sandbox_failed: {
    grpc: GrpcStatus.INTERNAL,
    http: 502,
    description: 'The sandbox could not be started, or its runtime died without answering.',
  },
  deadline_exceeded: {
    grpc: GrpcStatus.DEADLINE_EXCEEDED,
    http: 504,
    description: 'The platform could not finish the request within its deadline (e.g. waiting for capacity).',
  },
  internal: {
    grpc: GrpcStatus.INTERNAL,
    http: 500,
    description: 'An unexpected platform failure; the logs carry the details.',
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** The code that best describes a gRPC status when no code travelled with it. */
export function codeForGrpcStatus(status: number): ErrorCode {
  switch (status) {
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return 'bad_request';
    case GrpcStatus.NOT_FOUND:
      return 'route_not_found';
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'too_many_requests';
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'deadline_exceeded';
    case GrpcStatus.UNAUTHENTICATED:
      return 'unauthenticated';
    case GrpcStatus.PERMISSION_DENIED:
      return 'forbidden';
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED:
      return 'service_unavailable';
    default:
      return 'internal';
  }
}
