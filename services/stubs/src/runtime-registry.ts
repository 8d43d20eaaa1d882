import type { Redis } from 'ioredis';
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import { BUILT_IN_RUNTIMES, CODE_DIGEST_RULE, CUSTOM_RUNTIME, FUNCTION_NAME, create, isCodeDigest, RuntimeConfigSchema, type RuntimeConfig } from '@faas/protocol';
import { PlatformError } from '@faas/errors';
import type { CodeStore } from './code-store.js';
import { MARK_CODE_USED } from './code-use.js';
import { MAX_DESCRIPTION_CHARS, RUNTIME_BUNDLE_FILES, checkRuntimeBundle } from './runtime-manifest.js';
import { DROP_ALL_NOTICE, withRedis } from '@faas/redis';
import type { StubsKeys } from './redis-keys.js';

export interface PutRuntimeResult {
  readonly runtime: RuntimeConfig;
  readonly created: boolean;
}

/** What the function registry needs to know about custom runtimes. */
export interface RuntimeLookup {
  /** The runtime's bundle digest, or undefined when no such runtime is registered. */
  codeDigestOf(name: string): Promise<string | undefined>;
}

/**
 * Custom runtimes: a name and a code bundle holding a `bootstrap` and a
 * `runtime.json` manifest, both checked at registration
 * (runtime-manifest.ts). Functions refer to one as "custom:<name>";
 * replacing a runtime takes effect for sandboxes created afterwards.
 */
export class RuntimeRegistry implements RuntimeLookup {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly code: Pick<CodeStore, 'markUsed' | 'topLevelFiles'>,
    private readonly now: () => number = Date.now,
    /**
     * Wraps each runtime write: functions carry their runtime's digest as
     * resolved when read, so while and after a runtime changes, cached
     * function configs must not be served.
     */
    private readonly whileChanging: <T>(write: () => Promise<T>) => Promise<T> = (write) => write(),
  ) {}

  async put(input: RuntimeConfig): Promise<PutRuntimeResult> {
    assertRuntimeName(input.name);
    if (!isCodeDigest(input.codeDigest)) throw new PlatformError('invalid_function_config', `code_digest must be ${CODE_DIGEST_RULE}`);
    if (input.description.length > MAX_DESCRIPTION_CHARS) {
      throw new PlatformError('invalid_function_config', `description must be at most ${MAX_DESCRIPTION_CHARS} characters`);
    }
    await this.code.markUsed(input.codeDigest);
    const manifest = checkRuntimeBundle(await this.code.topLevelFiles(input.codeDigest, RUNTIME_BUNDLE_FILES), input.name);
    const key = this.keys.runtime(input.name);
    const previousJson = await withRedis(() => this.redis.get(key));
    const previous = previousJson === null ? undefined : parseRuntime(previousJson);
    const now = BigInt(this.now());
    const runtime = create(RuntimeConfigSchema, {
      name: input.name,
      // The registration's own description, else the manifest's.
      description: input.description || manifest.description,
      codeDigest: input.codeDigest,
      createdAtMs: previous?.createdAtMs ?? now,
      updatedAtMs: now,
    });
    await this.whileChanging(() =>
      withRedis(() => {
        const write = this.redis
          .multi()
          .set(key, toJsonString(RuntimeConfigSchema, runtime))
          .sadd(this.keys.runtimeNames, input.name)
          .publish(this.keys.changes, DROP_ALL_NOTICE);
        // The bundle it replaces starts its retention now.
        if (previous && previous.codeDigest !== input.codeDigest) write.eval(MARK_CODE_USED, 1, this.keys.code(previous.codeDigest), 'existing');
        return write.exec();
      }),
    );
    return { runtime, created: previous === undefined };
  }

  async get(name: string): Promise<RuntimeConfig> {
    assertRuntimeName(name);
    const json = await withRedis(() => this.redis.get(this.keys.runtime(name)));
    if (json === null) throw new PlatformError('runtime_not_found', `no custom runtime named ${name}`);
    return parseRuntime(json);
  }

  async list(): Promise<RuntimeConfig[]> {
    const names = await withRedis(() => this.redis.smembers(this.keys.runtimeNames));
    if (names.length === 0) return [];
    names.sort();
    const values = await withRedis(() => this.redis.mget(names.map((name) => this.keys.runtime(name))));
    return values.filter((json): json is string => json !== null).map(parseRuntime);
  }

  async codeDigestOf(name: string): Promise<string | undefined> {
    const json = await withRedis(() => this.redis.get(this.keys.runtime(name)));
    return json === null ? undefined : parseRuntime(json).codeDigest;
  }
}

export function assertRuntimeName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new PlatformError(
      'invalid_function_config',
      `runtime name ${JSON.stringify(name.slice(0, 80))} must be 1-63 characters of a-z, 0-9 and "-", starting with a letter`,
    );
  }
  if ((BUILT_IN_RUNTIMES as readonly string[]).includes(name) || name === CUSTOM_RUNTIME) {
    throw new PlatformError('invalid_function_config', `runtime name ${name} is taken by a built-in runtime`);
  }
}

function parseRuntime(json: string): RuntimeConfig {
  return fromJsonString(RuntimeConfigSchema, json, { ignoreUnknownFields: true });
}
