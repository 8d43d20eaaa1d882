import { PlatformError } from '@faas/errors';

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** The hex part of a "sha256:<hex>" digest; bad_request for anything else. */
export function digestHex(digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new PlatformError('bad_request', `digest must look like sha256:<64 lower-case hex>, got ${JSON.stringify(digest.slice(0, 80))}`);
  return match[1]!;
}

export function digestOf(hex: string): string {
  return `sha256:${hex}`;
}
