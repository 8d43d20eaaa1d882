/**
 * Published versions and aliases of functions. A version is $LATEST's JSON
 * copied byte for byte under the next number, so it can never change; an
 * alias names one version, or two with a share of the calls for the second.
 * Every write is one Lua script that also publishes the change notice of
 * what it changed ("name:N", "name:alias"), so caches drop it at once and
 * the controller drains the sandboxes of a deleted version.
 */
import type { Redis } from 'ioredis';
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import { PlatformError } from '@faas/errors';
import { ALIAS_NAME, FunctionAliasSchema, assertFunctionName, create, type FunctionAlias, type FunctionConfig, type GetFunctionResponse, type Qualifier } from '@faas/protocol';
import { withRedis } from '@faas/redis';
import { LUA_DIGEST_OF, LUA_MARK_USED, LUA_NOW } from './code-use.js';
import { notFound, parseConfig, type FunctionRegistry } from './function-registry.js';
import type { StubsKeys } from './redis-keys.js';

/**
 * KEYS: function, versions, published. ARGV: the $LATEST JSON read, its
 * "rev:<revision>" field, the changes channel, the function's name.
 * Returns {number, created}, or {-1, 0} when $LATEST changed meanwhile.
 */
const PUBLISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1, 0} end
local existing = redis.call('HGET', KEYS[3], ARGV[2])
if existing then return {tonumber(existing), 0} end
local number = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('HSET', KEYS[2], number, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], number)
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ':' .. number)
return {number, 1}
`;

/**
 * KEYS: versions, published, aliases. ARGV: the version, the changes
 * channel, the function's name, the code keys' prefix. Returns 1 (deleted),
 * 0 (no such version), or -1 (an alias points at it). The version's bundle
 * is marked used: its retention starts when this reference goes.
 */
const DELETE_VERSION = `${LUA_NOW}
${LUA_MARK_USED}
${LUA_DIGEST_OF}
local config = redis.call('HGET', KEYS[1], ARGV[1])
if not config then return 0 end
for _, json in ipairs(redis.call('HVALS', KEYS[3])) do
  local alias = cjson.decode(json)
  if tostring(alias.functionVersion or 0) == ARGV[1] or tostring(alias.additionalVersion or 0) == ARGV[1] then return -1 end
end
redis.call('HDEL', KEYS[1], ARGV[1])
local digest = digestOf(config)
if digest then markUsed(ARGV[4] .. digest) end
local published = redis.call('HGETALL', KEYS[2])
for i = 1, #published, 2 do
  if published[i] ~= 'seq' and published[i + 1] == ARGV[1] then redis.call('HDEL', KEYS[2], published[i]) end
end
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ':' .. ARGV[1])
return 1
`;

/**
 * KEYS: function, versions, aliases. ARGV: the version, the additional
 * version ('' for none), the alias, the alias JSON read ('' for none), the
 * new JSON, the changes channel, the notice. Returns 1 (written), 0 (the
 * alias changed meanwhile), -1 (no function), -2 or -3 (no such version).
 */
const PUT_ALIAS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return -2 end
if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then return -3 end
if (redis.call('HGET', KEYS[3], ARGV[3]) or '') ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
`;

/** KEYS: versions, published, aliases. ARGV: the changes channel, the function's name. */
const DELETE_ALL = `
local name = ARGV[2]
for _, number in ipairs(redis.call('HKEYS', KEYS[1])) do redis.call('PUBLISH', ARGV[1], name .. ':' .. number) end
for _, alias in ipairs(redis.call('HKEYS', KEYS[3])) do redis.call('PUBLISH', ARGV[1], name .. ':' .. alias) end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
`;

const MAX_SWAP_ATTEMPTS = 50;

export class VersionRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly functions: Pick<FunctionRegistry, 'get' | 'withRuntimeDigest'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** $LATEST as the next version, or the version it already is. */
  async publish(name: string): Promise<{ function: FunctionConfig; created: boolean }> {
    assertFunctionName(name);
    for (let attempt = 0; attempt < MAX_SWAP_ATTEMPTS; attempt++) {
      const json = await withRedis(() => this.redis.get(this.keys.function(name)));
      if (json === null) throw notFound(name);
      const latest = parseConfig(json);
      const [number, created] = (await withRedis(() =>
        this.redis.eval(PUBLISH, 3, this.keys.function(name), this.keys.functionVersions(name), this.keys.functionPublished(name), json, `rev:${latest.version}`, this.keys.changes, name),
      )) as [number, number];
      if (number > 0) return { function: await this.functions.withRuntimeDigest({ ...latest, publishedVersion: number }), created: created === 1 };
    }
    throw new PlatformError('service_unavailable', `function ${name} is being updated by too many callers at once; try again`);
  }

  async get(name: string, version: number): Promise<FunctionConfig> {
    assertFunctionName(name);
    const json = await withRedis(() => this.redis.hget(this.keys.functionVersions(name), String(version)));
    if (json === null) throw await this.missing(name, new PlatformError('version_not_found', `function ${name} has no version ${version}`));
    return this.functions.withRuntimeDigest({ ...parseConfig(json), publishedVersion: version });
  }

  /** Every published version, oldest first. */
  async list(name: string): Promise<FunctionConfig[]> {
    assertFunctionName(name);
    const all = await withRedis(() => this.redis.hgetall(this.keys.functionVersions(name)));
    const numbers = Object.keys(all).map(Number).sort((a, b) => a - b);
    if (numbers.length === 0) await this.functions.get(name);
    return Promise.all(numbers.map((number) => this.functions.withRuntimeDigest({ ...parseConfig(all[String(number)]!), publishedVersion: number })));
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    assertFunctionName(name);
    const deleted = (await withRedis(() =>
      this.redis.eval(
        DELETE_VERSION,
        3,
        this.keys.functionVersions(name),
        this.keys.functionPublished(name),
        this.keys.functionAliases(name),
        String(version),
        this.keys.changes,
        name,
        this.keys.code(''),
      ),
    )) as number;
    if (deleted === -1) throw new PlatformError('version_in_use', `an alias of ${name} points at version ${version}; re-point or delete it first`);
    if (deleted === 0) throw await this.missing(name, new PlatformError('version_not_found', `function ${name} has no version ${version}`));
  }

  async putAlias(functionName: string, input: FunctionAlias): Promise<{ alias: FunctionAlias; created: boolean }> {
    assertFunctionName(functionName);
    const checked = checkAlias(input);
    const key = this.keys.functionAliases(functionName);
    for (let attempt = 0; attempt < MAX_SWAP_ATTEMPTS; attempt++) {
      const storedJson = await withRedis(() => this.redis.hget(key, checked.name));
      const previous = storedJson === null ? undefined : parseAlias(storedJson);
      const now = BigInt(this.now());
      const next = create(FunctionAliasSchema, { ...checked, createdAtMs: previous?.createdAtMs ?? now, updatedAtMs: now });
      const additional = next.additionalWeight > 0 ? String(next.additionalVersion) : '';
      const written = (await withRedis(() =>
        this.redis.eval(
          PUT_ALIAS,
          3,
          this.keys.function(functionName),
          this.keys.functionVersions(functionName),
          key,
          String(next.functionVersion),
          additional,
          next.name,
          storedJson ?? '',
          toJsonString(FunctionAliasSchema, next),
          this.keys.changes,
          `${functionName}:${next.name}`,
        ),
      )) as number;
      if (written === 1) return { alias: next, created: previous === undefined };
      if (written === -1) throw notFound(functionName);
      if (written === -2) throw new PlatformError('invalid_alias', `function ${functionName} has no version ${next.functionVersion}`);
      if (written === -3) throw new PlatformError('invalid_alias', `function ${functionName} has no version ${next.additionalVersion}`);
    }
    throw new PlatformError('service_unavailable', `alias ${checked.name} of ${functionName} is being updated by too many callers at once; try again`);
  }

  async getAlias(functionName: string, name: string): Promise<FunctionAlias> {
    assertFunctionName(functionName);
    const json = await withRedis(() => this.redis.hget(this.keys.functionAliases(functionName), name));
    if (json === null) throw await this.missing(functionName, new PlatformError('alias_not_found', `function ${functionName} has no alias ${JSON.stringify(name.slice(0, 130))}`));
    return parseAlias(json);
  }

  async listAliases(functionName: string): Promise<FunctionAlias[]> {
    assertFunctionName(functionName);
    const all = await withRedis(() => this.redis.hvals(this.keys.functionAliases(functionName)));
    if (all.length === 0) await this.functions.get(functionName);
    return all.map(parseAlias).sort((a, b) => a.name.localeCompare(b.name));
  }

  async deleteAlias(functionName: string, name: string): Promise<void> {
    assertFunctionName(functionName);
    const key = this.keys.functionAliases(functionName);
    const [[error, deleted] = [null, 0]] =
      (await withRedis(() => this.redis.multi().hdel(key, name).publish(this.keys.changes, `${functionName}:${name}`).exec())) ?? [];
    if (error) throw new PlatformError('internal', `deleting alias ${name} of ${functionName} failed: ${error.message}`, { cause: error });
    if (deleted === 0) throw await this.missing(functionName, new PlatformError('alias_not_found', `function ${functionName} has no alias ${JSON.stringify(name.slice(0, 130))}`));
  }

  /** What a qualifier names: $LATEST, a version, or an alias with its versions' configs. */
  async resolve(name: string, qualifier: Qualifier): Promise<Omit<GetFunctionResponse, '$typeName'>> {
    switch (qualifier.kind) {
      case 'latest':
        return { function: await this.functions.get(name) };
      case 'version':
        return { function: await this.get(name, qualifier.version) };
      case 'alias': {
        const alias = await this.getAlias(name, qualifier.alias);
        const [primary, additional] = await Promise.all([
          this.get(name, alias.functionVersion),
          alias.additionalWeight > 0 ? this.get(name, alias.additionalVersion) : Promise.resolve(undefined),
        ]);
        return { function: primary, alias, additionalFunction: additional };
      }
    }
  }

  /** The function was deleted: its versions and aliases go too, each with its notice. */
  async deleteAll(name: string): Promise<void> {
    await withRedis(() =>
      this.redis.eval(DELETE_ALL, 3, this.keys.functionVersions(name), this.keys.functionPublished(name), this.keys.functionAliases(name), this.keys.changes, name),
    );
  }

  /** function_not_found when the function itself is gone, else `error`. */
  private async missing(name: string, error: PlatformError): Promise<PlatformError> {
    const exists = await withRedis(() => this.redis.exists(this.keys.function(name)));
    return exists === 0 ? notFound(name) : error;
  }
}

/** An alias as it may be stored: a valid name, a version, and a weight that makes sense. */
export function checkAlias(alias: FunctionAlias): FunctionAlias {
  if (!ALIAS_NAME.test(alias.name)) {
    throw new PlatformError('invalid_qualifier', `alias ${JSON.stringify(alias.name.slice(0, 130))} must be 1-128 characters of A-Z, a-z, 0-9, "_" and "-", starting with a letter`);
  }
  if (!Number.isInteger(alias.functionVersion) || alias.functionVersion < 1) {
    throw new PlatformError('invalid_alias', `alias ${alias.name} must name a published version (functionVersion ≥ 1)`);
  }
  const weight = alias.additionalWeight;
  if (!Number.isFinite(weight) || weight < 0 || weight >= 1) {
    throw new PlatformError('invalid_alias', `alias ${alias.name}: the additional version's weight must be at least 0 and below 1, got ${weight}`);
  }
  if (weight > 0 && (alias.additionalVersion < 1 || alias.additionalVersion === alias.functionVersion)) {
    throw new PlatformError('invalid_alias', `alias ${alias.name}: a weight needs an additional version other than ${alias.functionVersion}`);
  }
  return create(FunctionAliasSchema, {
    name: alias.name,
    functionVersion: alias.functionVersion,
    additionalVersion: weight > 0 ? alias.additionalVersion : 0,
    additionalWeight: weight,
  });
}

function parseAlias(json: string): FunctionAlias {
  return fromJsonString(FunctionAliasSchema, json, { ignoreUnknownFields: true });
}
