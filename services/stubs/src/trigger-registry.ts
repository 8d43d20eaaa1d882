import type { Redis } from 'ioredis';
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import { PlatformError } from '@faas/errors';
import { FUNCTION_NAME, TriggerConfigSchema, create, httpRoutesClash, type TriggerConfig } from '@faas/protocol';
import { withRedis } from '@faas/redis';
import type { StubsKeys } from './redis-keys.js';
import { normaliseTrigger } from './trigger-validation.js';

/** Writes the trigger, its name in the set and the change notice in one atomic step (MULTI). */
export class TriggerRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StubsKeys,
    private readonly functionExists: (name: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  async put(input: TriggerConfig): Promise<{ trigger: TriggerConfig; created: boolean }> {
    const trigger = normaliseTrigger(input);
    // A trigger for a function that does not exist would only fail later, call by call.
    await this.functionExists(trigger.functionName);
    if (trigger.type === 'http') await this.assertRouteFree(trigger);
    const previous = await this.find(trigger.name);
    const now = BigInt(this.now());
    const stored = create(TriggerConfigSchema, { ...trigger, createdAtMs: previous?.createdAtMs ?? now, updatedAtMs: now });
    await withRedis(() =>
      this.redis
        .multi()
        .set(this.keys.trigger(trigger.name), toJsonString(TriggerConfigSchema, stored))
        .sadd(this.keys.triggerNames, trigger.name)
        .publish(this.keys.triggerChanges, trigger.name)
        .exec(),
    );
    return { trigger: stored, created: previous === undefined };
  }

  async get(name: string): Promise<TriggerConfig> {
    const trigger = FUNCTION_NAME.test(name) ? await this.find(name) : undefined;
    if (!trigger) throw new PlatformError('trigger_not_found', `no trigger named ${JSON.stringify(name.slice(0, 80))}`);
    return trigger;
  }

  /** Every trigger, sorted by name. */
  async list(): Promise<TriggerConfig[]> {
    const names = await withRedis(() => this.redis.smembers(this.keys.triggerNames));
    if (names.length === 0) return [];
    names.sort();
    const values = await withRedis(() => this.redis.mget(names.map((name) => this.keys.trigger(name))));
    return values.filter((json): json is string => json !== null).map(parse);
  }

  async delete(name: string): Promise<void> {
    await this.get(name);
    await withRedis(() =>
      this.redis.multi().del(this.keys.trigger(name)).srem(this.keys.triggerNames, name).publish(this.keys.triggerChanges, name).exec(),
    );
  }

  /**
   * Two HTTP triggers may not claim the same requests (protocol's
   * httpRoutesClash). Checked before the write, not in it: two racing
   * writes of clashing routes could both pass; the edge then serves the
   * first by name, and a listing shows both.
   */
  private async assertRouteFree(trigger: TriggerConfig): Promise<void> {
    const clash = (await this.list()).find((other) => other.type === 'http' && other.name !== trigger.name && httpRoutesClash(other, trigger));
    if (clash) {
      const methods = clash.methods.length > 0 ? clash.methods.join(',') : 'every method';
      throw new PlatformError('trigger_conflict', `trigger ${clash.name} already serves ${methods} ${clash.path}${clash.host ? ` on ${clash.host}` : ''}`);
    }
  }

  private async find(name: string): Promise<TriggerConfig | undefined> {
    const json = await withRedis(() => this.redis.get(this.keys.trigger(name)));
    return json === null ? undefined : parse(json);
  }
}

function parse(json: string): TriggerConfig {
  return fromJsonString(TriggerConfigSchema, json, { ignoreUnknownFields: true });
}
