/**
 * API tokens: made here with a random secret, kept as the sha256 of their
 * text only (a leaked Redis gives no usable token), listed and revoked.
 * A token's secret is 32 random bytes, so a fast hash is enough: there is
 * nothing to guess that a slow one would protect.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import { PlatformError } from '@faas/errors';
import { ApiTokenSchema, TOKEN_ID, TOKEN_NAME, TOKEN_SCOPES, create, formatTokenText, isTokenScope, type ApiToken } from '@faas/protocol';
import { withRedis } from '@faas/redis';
import type { StubsKeys } from './redis-keys.js';

export class TokenRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly now: () => number = Date.now,
  ) {}

  async create(name: string, scopes: readonly string[]): Promise<{ token: ApiToken; text: string }> {
    if (!TOKEN_NAME.test(name)) throw new PlatformError('bad_request', 'a token name is 1-64 letters, digits, spaces or ._:@-');
    if (scopes.length === 0 || !scopes.every(isTokenScope)) throw new PlatformError('bad_request', `scopes must be a non-empty list of ${TOKEN_SCOPES.join(', ')}`);
    const id = randomBytes(8).toString('hex');
    const text = formatTokenText(id, randomBytes(32).toString('base64url'));
    const token = create(ApiTokenSchema, {
      id,
      name,
      scopes: [...new Set(scopes)].sort(),
      createdAtMs: BigInt(this.now()),
      textSha256: createHash('sha256').update(text).digest(),
    });
    await withRedis(() => this.redis.multi().set(this.keys.token(id), toJsonString(ApiTokenSchema, token)).sadd(this.keys.tokenIds, id).exec());
    return { token, text };
  }

  /** The record with its hash, or undefined. */
  async get(id: string): Promise<ApiToken | undefined> {
    if (!TOKEN_ID.test(id)) return undefined;
    const json = await withRedis(() => this.redis.get(this.keys.token(id)));
    return json === null ? undefined : parse(json);
  }

  /** Every token, oldest first, without hashes. */
  async list(): Promise<ApiToken[]> {
    const ids = await withRedis(() => this.redis.smembers(this.keys.tokenIds));
    if (ids.length === 0) return [];
    const values = await withRedis(() => this.redis.mget(ids.map((id) => this.keys.token(id))));
    return values
      .filter((json): json is string => json !== null)
      .map((json) => create(ApiTokenSchema, { ...parse(json), textSha256: new Uint8Array() }))
      .sort((a, b) => Number(a.createdAtMs - b.createdAtMs) || a.id.localeCompare(b.id));
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.get(id))) throw new PlatformError('token_not_found', `no token with id ${JSON.stringify(id.slice(0, 80))}`);
    await withRedis(() => this.redis.multi().del(this.keys.token(id)).srem(this.keys.tokenIds, id).exec());
  }
}

function parse(json: string): ApiToken {
  return fromJsonString(ApiTokenSchema, json, { ignoreUnknownFields: true });
}
