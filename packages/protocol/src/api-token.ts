/**
 * API tokens' text and scopes, shared by stubs (which makes tokens) and the
 * edge (which checks them). A token reads `faas_<id>_<secret>`: the id finds
 * the record, the secret makes it unguessable (32 random bytes), and only
 * the sha256 of the whole text is ever stored.
 */
export const TOKEN_SCOPES = ['admin', 'deploy', 'invoke', 'read'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const TOKEN_ID = /^[0-9a-f]{16}$/;
const TOKEN_TEXT = /^faas_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
export const TOKEN_NAME = /^[\p{L}\p{N} ._:@-]{1,64}$/u;

export function isTokenScope(value: unknown): value is TokenScope {
  return typeof value === 'string' && (TOKEN_SCOPES as readonly string[]).includes(value);
}

export function formatTokenText(id: string, secret: string): string {
  return `faas_${id}_${secret}`;
}

/** The id inside a presented token's text; undefined when the text is not shaped like one of ours. */
export function tokenIdOf(text: string): string | undefined {
  return TOKEN_TEXT.exec(text)?.[1];
}
