/**
 * A function's max_concurrency across every controller replica (docs/
 * design.md "Limits across controllers"). Each sandbox holds a reservation
 * of slots out of the function's limit, taken when the sandbox is made and
 * given back when it goes; the funclet admits no more calls to a sandbox
 * than its reservation, so calls at once can never exceed the limit,
 * whichever controllers placed them and whoever holds the edges' leases.
 *
 * In Redis, one sorted set per function: member "<reservation id>:<slots>",
 * score the time it lapses unless kept. The holder keeps it every few
 * seconds, so the reservations of a controller that died lapse on their
 * own unless another controller claimed the sandboxes and keeps them.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { withRedis } from '@faas/redis';

export interface Reservation {
  /** Empty when nothing was granted. */
  readonly id: string;
  /** Slots granted: at most what was asked, 0 when the limit is reached. */
  readonly slots: number;
  /** Slots all reservations held before this one (this controller's included). */
  readonly heldBefore: number;
}

export interface KeptReservation {
  readonly functionName: string;
  readonly id: string;
  readonly slots: number;
  readonly maxConcurrency: number;
}

export interface ConcurrencyBook {
  /** Up to `want` slots of the function's `max`, for a new sandbox. */
  reserve(functionName: string, max: number, want: number): Promise<Reservation>;
  /**
   * Extends the reservations of sandboxes this controller holds. One that
   * lapsed meanwhile is taken again if the limit still allows; the ids of
   * those it does not come back, and their sandboxes must go.
   */
  keep(reservations: readonly KeptReservation[]): Promise<Set<string>>;
  /** The sandbox is gone: its slots are free for any controller. */
  release(functionName: string, id: string, slots: number): Promise<void>;
  /** Slots all reservations of the function hold now. */
  held(functionName: string): Promise<number>;
}

/**
 * KEYS[1] the function's set; ARGV: now, ttl, max, want, id.
 * Drops lapsed members, sums the rest, grants min(want, max - held).
 */
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  held = held + tonumber(string.match(member, ':(%d+)$'))
end
local give = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) - held)
if give > 0 then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[5] .. ':' .. give)
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
else
  give = 0
end
return {give, held}
`;

/**
 * KEYS[1] the function's set; ARGV: now, ttl, max, then member pairs
 * "<id>:<slots>". Extends each present member; re-adds a lapsed one when
 * the limit allows; returns the ids it could not keep.
 */
const KEEP = `
local now, ttl, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  held = held + tonumber(string.match(member, ':(%d+)$'))
end
local lost = {}
for i = 4, #ARGV do
  local member = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], member) then
    redis.call('ZADD', KEYS[1], now + ttl, member)
  else
    local slots = tonumber(string.match(member, ':(%d+)$'))
    if held + slots <= max then
      redis.call('ZADD', KEYS[1], now + ttl, member)
      held = held + slots
    else
      table.insert(lost, string.match(member, '^(.*):%d+$'))
    end
  end
end
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
return lost
`;

const HELD = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  held = held + tonumber(string.match(member, ':(%d+)$'))
end
return held
`;

type Scripted = Redis & {
  faasReserve(key: string, now: number, ttl: number, max: number, want: number, id: string): Promise<[number, number]>;
  faasKeep(key: string, now: number, ttl: number, max: number, ...members: string[]): Promise<string[]>;
  faasHeld(key: string, now: number): Promise<number>;
};

export class RedisConcurrencyBook implements ConcurrencyBook {
  private readonly redis: Scripted;

  constructor(
    redis: Redis,
    private readonly keyOf: (functionName: string) => string,
    /** How long a reservation lasts unless kept; keep at a fraction of it. */
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    redis.defineCommand('faasReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('faasKeep', { numberOfKeys: 1, lua: KEEP });
    redis.defineCommand('faasHeld', { numberOfKeys: 1, lua: HELD });
    this.redis = redis as Scripted;
  }

  async reserve(functionName: string, max: number, want: number): Promise<Reservation> {
    const id = randomUUID();
    const [slots, heldBefore] = await withRedis(() => this.redis.faasReserve(this.keyOf(functionName), this.now(), this.ttlMs, max, want, id));
    return { id: slots > 0 ? id : '', slots, heldBefore };
  }

  async keep(reservations: readonly KeptReservation[]): Promise<Set<string>> {
    const byFunction = new Map<string, KeptReservation[]>();
    for (const reservation of reservations) {
      const list = byFunction.get(reservation.functionName);
      if (list) list.push(reservation);
      else byFunction.set(reservation.functionName, [reservation]);
    }
    const now = this.now();
    const lost = new Set<string>();
    const answers = await withRedis(() =>
      Promise.all(
        [...byFunction].map(([name, list]) =>
          this.redis.faasKeep(this.keyOf(name), now, this.ttlMs, list[0]!.maxConcurrency, ...list.map((r) => memberOf(r.id, r.slots))),
        ),
      ),
    );
    for (const ids of answers) for (const id of ids) lost.add(id);
    return lost;
  }

  async release(functionName: string, id: string, slots: number): Promise<void> {
    await withRedis(() => this.redis.zrem(this.keyOf(functionName), memberOf(id, slots)));
  }

  async held(functionName: string): Promise<number> {
    return withRedis(() => this.redis.faasHeld(this.keyOf(functionName), this.now()));
  }
}

function memberOf(id: string, slots: number): string {
  return `${id}:${slots}`;
}
