/** The token in `Authorization: Bearer <token>`; anything else there is refused with its reason. */
import { PlatformError } from '@faas/errors';

/** Longer than any token we make by far; a header this long is not ours. */
const MAX_TOKEN_CHARS = 512;

/** undefined when the header is absent; throws unauthenticated when it is present but not a bearer token. */
export function bearerTokenOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] ?? '' : header;
  const match = /^Bearer +(\S+) *$/i.exec(value);
  if (!match || match[1]!.length > MAX_TOKEN_CHARS) throw new PlatformError('unauthenticated', 'the Authorization header must be "Bearer <token>"');
  return match[1]!;
}
