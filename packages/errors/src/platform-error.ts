import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.js';

/**
 * A failure of the platform (never of the user's function). Carries a code
 * from the catalogue, which fixes its gRPC and HTTP status.
 */
export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  readonly code: ErrorCode;
  /** When a retry may succeed (a limit reached, a piece restarting); HTTP edges send it as Retry-After. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message ?? ERROR_CATALOGUE[code].description, options);
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }

  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }

  get grpcStatus(): number {
    return ERROR_CATALOGUE[this.code].grpc;
  }

  /** The JSON body every HTTP error response carries. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isPlatformError(error: unknown): error is PlatformError {
  return error instanceof PlatformError;
}

/** Wraps anything thrown into a PlatformError, keeping platform errors as they are. */
export function toPlatformError(error: unknown, fallback: ErrorCode = 'internal'): PlatformError {
  if (error instanceof PlatformError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PlatformError(fallback, message, { cause: error });
}
