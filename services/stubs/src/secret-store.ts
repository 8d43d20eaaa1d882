/**
 * Secrets: one Redis hash, name → sealed value (secret-cipher.ts). Values go
 * out only through `values`, for the funclet that mounts them; listings
 * carry names alone.
 */
import type { Redis } from 'ioredis';
import { PlatformError } from '@faas/errors';
import { SECRET_NAME, SecretWriteMode } from '@faas/protocol';
import { withRedis } from '@faas/redis';
import type { SecretCipher } from './secret-cipher.js';

/** Kubernetes' own limit on a secret's data is 1 MiB; half of it keeps Redis values small. */
export const MAX_SECRET_BYTES = 512 * 1024;

// Create or update in one step, so two racing creates cannot both win.
const WRITE_SECRET = `
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1])
if ARGV[3] == 'create' and exists == 1 then return -1 end
if ARGV[3] == 'update' and exists == 0 then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return exists
`;

export class SecretStore {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly cipher: SecretCipher,
  ) {}

  async put(name: string, value: Uint8Array, mode: SecretWriteMode): Promise<{ created: boolean }> {
    assertName(name);
    if (value.byteLength > MAX_SECRET_BYTES) throw new PlatformError('invalid_secret', `secret ${JSON.stringify(name)} is larger than ${MAX_SECRET_BYTES / 1024} KiB`);
    const modeName = mode === SecretWriteMode.CREATE ? 'create' : mode === SecretWriteMode.UPDATE ? 'update' : 'upsert';
    const answer = Number(await withRedis(() => this.redis.eval(WRITE_SECRET, 1, this.key, name, this.cipher.seal(name, value), modeName)));
    if (answer === -1) throw new PlatformError('secret_exists', `secret ${JSON.stringify(name)} exists already; update it instead`);
    if (answer === -2) throw new PlatformError('secret_not_found', `no secret named ${JSON.stringify(name)}`);
    return { created: answer === 0 };
  }

  /** Names only, sorted. */
  async names(): Promise<string[]> {
    return (await withRedis(() => this.redis.hkeys(this.key))).sort();
  }

  async delete(name: string): Promise<void> {
    assertName(name);
    const removed = await withRedis(() => this.redis.hdel(this.key, name));
    if (removed === 0) throw new PlatformError('secret_not_found', `no secret named ${JSON.stringify(name)}`);
  }

  /** secret_not_found naming the first of `names` that does not exist. */
  async assertExist(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const sealed = await withRedis(() => this.redis.hmget(this.key, ...names));
    const missing = names.find((_, index) => sealed[index] === null);
    if (missing !== undefined) throw new PlatformError('secret_not_found', `no secret named ${JSON.stringify(missing)}; create it first`);
  }

  /** Every named value, or secret_not_found naming the first one missing. */
  async values(names: readonly string[]): Promise<Record<string, Uint8Array>> {
    if (names.length === 0) return {};
    names.forEach(assertName);
    const sealed = await withRedis(() => this.redis.hmget(this.key, ...names));
    const values: Record<string, Uint8Array> = {};
    names.forEach((name, index) => {
      const stored = sealed[index];
      if (stored === null || stored === undefined) throw new PlatformError('secret_not_found', `no secret named ${JSON.stringify(name)}`);
      values[name] = this.cipher.open(name, stored);
    });
    return values;
  }
}

function assertName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new PlatformError('invalid_secret', `secret names are 1-253 characters of A-Z, a-z, 0-9, ".", "_" and "-" (got ${JSON.stringify(name.slice(0, 80))})`);
  }
}
