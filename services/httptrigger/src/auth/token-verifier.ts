/**
 * Who a presented token is. The bootstrap admin token (the file `npm run up`
 * writes) is checked here against its hash; every other token's record comes
 * from stubs by the id inside its text and is remembered for a short while,
 * so a burst of calls costs stubs one lookup. Hashes are compared in
 * constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { tokenIdOf, type ApiToken, type TokenScope } from '@faas/protocol';

export interface Principal {
  /** The token's id ("bootstrap-admin" for the admin token from the file). */
  readonly tokenId: string;
  readonly scopes: readonly string[];
}

export type TokenLookup = (id: string) => Promise<ApiToken | undefined>;

const BOOTSTRAP_ADMIN: Principal = { tokenId: 'bootstrap-admin', scopes: ['admin' satisfies TokenScope] };

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class TokenVerifier {
  private readonly records = new Map<string, { token: ApiToken | undefined; fetchedAt: number }>();

  constructor(
    private readonly options: {
      readonly bootstrapAdminHash?: Uint8Array;
      readonly lookup: TokenLookup;
      readonly cacheMs: number;
      readonly now?: () => number;
    },
  ) {}

  /** Whether `text` is the bootstrap admin token (synchronous: for basic auth's password check). */
  isBootstrapAdmin(text: string): boolean {
    return this.options.bootstrapAdminHash !== undefined && sameHash(sha256(text), this.options.bootstrapAdminHash);
  }

  /** The token's principal, or undefined when it is unknown, revoked or wrong. */
  async verify(text: string): Promise<Principal | undefined> {
    const hash = sha256(text);
    if (this.options.bootstrapAdminHash && sameHash(hash, this.options.bootstrapAdminHash)) return BOOTSTRAP_ADMIN;
    const id = tokenIdOf(text);
    if (id === undefined) return undefined;
    const token = await this.record(id);
    if (!token || !sameHash(hash, token.textSha256)) return undefined;
    return { tokenId: token.id, scopes: token.scopes };
  }

  /** A revoked token stops working on this edge at once (other edges: within the cache time). */
  forget(id: string): void {
    this.records.delete(id);
  }

  private async record(id: string): Promise<ApiToken | undefined> {
    const now = (this.options.now ?? Date.now)();
    const known = this.records.get(id);
    if (known && now - known.fetchedAt < this.options.cacheMs) return known.token;
    const token = await this.options.lookup(id);
    // Bounded: ids are only remembered for tokens that exist or were asked about lately.
    if (this.records.size > 10_000) this.records.clear();
    this.records.set(id, { token, fetchedAt: now });
    return token;
  }
}
