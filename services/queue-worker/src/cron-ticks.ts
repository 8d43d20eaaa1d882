import type { Redis } from 'ioredis';
import { withRedis } from '@faas/redis';
import type { TickStore } from './cron-scheduler.js';

/** Moves the mark forward only: a replica late with an older tick cannot undo a newer one. */
const ADVANCE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

/** `<prefix>cron:<trigger>`: the last tick a cron trigger fired (ms since epoch), owned by queue-worker. */
export class RedisTicks implements TickStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async last(trigger: string): Promise<number | undefined> {
    const value = await withRedis(() => this.redis.get(this.key(trigger)));
    return value === null ? undefined : Number(value);
  }

  async advance(trigger: string, tickMs: number): Promise<void> {
    await withRedis(() => this.redis.eval(ADVANCE, 1, this.key(trigger), String(tickMs)));
  }

  private key(trigger: string): string {
    return `${this.keyPrefix}cron:${trigger}`;
  }
}
