/** Metadata keys shared by every service. */
export const ERROR_CODE_KEY = 'faas-error-code';
/** Trailer with a PlatformError's retryAfterMs, when it has one. */
export const RETRY_AFTER_KEY = 'faas-retry-after-ms';
export const AUTHORIZATION_KEY = 'authorization';

export function bearer(token: string): string {
  return `Bearer ${token}`;
}
