import type { Redis } from 'ioredis';
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import { assertFunctionName, create, customRuntimeName, FunctionConfigSchema, type FunctionConfig } from '@faas/protocol';
import { PlatformError } from '@faas/errors';
import type { CodeStore } from './code-store.js';
import { LUA_DIGEST_OF, LUA_MARK_USED, LUA_NOW } from './code-use.js';
import { normaliseFunctionConfig } from './function-validation.js';
import type { RuntimeLookup } from './runtime-registry.js';
import { NoticeCache, withRedis } from '@faas/redis';
import type { StubsKeys } from './redis-keys.js';

/**
 * Compare-and-set: writes the new config only if the stored one is still
 * the one the new version was computed from ('' = none yet). Versions are
 * computed in TypeScript and Redis only guards the swap, so concurrent PUTs
 * of one function each get their own version number. The change notice is
 * published in the same atomic step, so no reader can see the new config
 * without the notice having been sent (ARGV[4] is the changes channel).
 * A bundle the function stops using is marked used now: its retention
 * starts when its last reference goes (ARGV[5] is the code keys' prefix).
 */
const COMPARE_AND_SET = `${LUA_NOW}
${LUA_MARK_USED}
${LUA_DIGEST_OF}
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
local before = current and digestOf(current)
if before and before ~= digestOf(ARGV[2]) then markUsed(ARGV[5] .. before) end
redis.call('PUBLISH', ARGV[4], ARGV[3])
return 1
`;

/**
 * Deletes KEYS[1] (ARGV[1] the name, ARGV[2] the changes channel, ARGV[3]
 * the code keys' prefix); 0 when there was none. The bundles of $LATEST and
 * of every published version (KEYS[3], deleted next by the version
 * registry) are marked used: the collector stops counting the versions once
 * the name is gone, and their retention starts now.
 */
const DELETE = `${LUA_NOW}
${LUA_MARK_USED}
${LUA_DIGEST_OF}
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
local function release(json)
  local digest = digestOf(json)
  if digest then markUsed(ARGV[3] .. digest) end
end
release(current)
for _, version in ipairs(redis.call('HVALS', KEYS[3])) do release(version) end
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
`;
const MAX_SWAP_ATTEMPTS = 50;

export interface PutFunctionResult {
  readonly function: FunctionConfig;
  readonly created: boolean;
}

export class FunctionRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly code: Pick<CodeStore, 'markUsed'>,
    private readonly now: () => number = Date.now,
    private readonly runtimes?: RuntimeLookup,
    /**
     * Configs as served by get(), fed the changes channel by main.ts so that
     * other replicas' writes reach it; this replica's own writes drop their
     * entry before answering.
     */
    private readonly cache: NoticeCache<FunctionConfig> = new NoticeCache({ ttlMs: 0 }),
    /** Refuses secrets that do not exist: the function could never start. */
    private readonly secrets?: { assertExist(names: readonly string[]): Promise<void> },
  ) {}

  async put(input: FunctionConfig): Promise<PutFunctionResult> {
    const config = normaliseFunctionConfig(input);
    await this.secrets?.assertExist(config.secrets);
    // Before the config refers to it: the collector then leaves the bundle for the retention at least.
    await this.code.markUsed(config.codeDigest);
    const runtimeCodeDigest = await this.resolveRuntime(config.runtime);
    const key = this.keys.function(config.name);

    for (let attempt = 0; attempt < MAX_SWAP_ATTEMPTS; attempt++) {
      const storedJson = await withRedis(() => this.redis.get(key));
      const previous = storedJson === null ? undefined : parseConfig(storedJson);
      const now = BigInt(this.now());
      const next = create(FunctionConfigSchema, {
        ...config,
        version: (previous?.version ?? 0n) + 1n,
        createdAtMs: previous?.createdAtMs ?? now,
        updatedAtMs: now,
      });
      const swapped = await this.cache.whileChanging(config.name, () => withRedis(() =>
        this.redis.eval(
          COMPARE_AND_SET,
          2,
          key,
          this.keys.functionNames,
          storedJson ?? '',
          toJsonString(FunctionConfigSchema, next),
          config.name,
          this.keys.changes,
          this.keys.code(''),
        ),
      ));
      if (swapped === 1) return { function: { ...next, runtimeCodeDigest }, created: previous === undefined };
    }
    throw new PlatformError('service_unavailable', `function ${config.name} is being updated by too many callers at once; try again`);
  }

  async get(name: string): Promise<FunctionConfig> {
    assertFunctionName(name);
    return this.cache.get(name, async () => {
      const json = await withRedis(() => this.redis.get(this.keys.function(name)));
      if (json === null) throw notFound(name);
      return this.withRuntimeDigest(parseConfig(json));
    });
  }

  /** Every function, sorted by name. */
  async list(): Promise<FunctionConfig[]> {
    const names = await withRedis(() => this.redis.smembers(this.keys.functionNames));
    if (names.length === 0) return [];
    names.sort();
    const values = await withRedis(() => this.redis.mget(names.map((name) => this.keys.function(name))));
    // A name whose config is gone was deleted between the two reads.
    return Promise.all(values.filter((json): json is string => json !== null).map((json) => this.withRuntimeDigest(parseConfig(json))));
  }

  /**
   * The digest of a custom runtime's bundle ('' for built-ins), so a funclet
   * needs no second lookup. Resolved on every read: a re-registered runtime
   * applies to sandboxes created afterwards.
   */
  private async resolveRuntime(runtime: string): Promise<string> {
    const custom = customRuntimeName(runtime);
    if (custom === undefined) return '';
    const digest = await this.runtimes?.codeDigestOf(custom);
    if (digest === undefined) throw new PlatformError('invalid_function_config', `runtime ${runtime}: no custom runtime named ${custom} is registered`);
    return digest;
  }

  /** The config as readers get it: with its custom runtime's digest (published versions too). */
  async withRuntimeDigest(config: FunctionConfig): Promise<FunctionConfig> {
    if (customRuntimeName(config.runtime) === undefined) return config;
    // A runtime removed after deployment leaves the digest empty; the funclet refuses to run it.
    const digest = (await this.runtimes?.codeDigestOf(customRuntimeName(config.runtime)!)) ?? '';
    return { ...config, runtimeCodeDigest: digest };
  }

  async delete(name: string): Promise<void> {
    assertFunctionName(name);
    const deleted = await this.cache.whileChanging(name, () =>
      withRedis(() => this.redis.eval(DELETE, 3, this.keys.function(name), this.keys.functionNames, this.keys.functionVersions(name), name, this.keys.changes, this.keys.code(''))),
    );
    if (deleted === 0) throw notFound(name);
  }
}

export function parseConfig(json: string): FunctionConfig {
  return fromJsonString(FunctionConfigSchema, json, { ignoreUnknownFields: true });
}

export function notFound(name: string): PlatformError {
  return new PlatformError('function_not_found', `no function named ${name}`);
}
