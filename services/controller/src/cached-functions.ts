import type { FunctionConfig } from '@faas/protocol';
import type { NoticeCache } from '@faas/redis';
import type { FunctionSource } from './call-runner.js';

/**
 * What a call's target ("name", "name:N", "name:alias") resolves to: one
 * config, or an alias's two with the share of calls the second gets.
 */
export interface FunctionTarget {
  readonly primary: FunctionConfig;
  readonly additional?: FunctionConfig;
  readonly additionalWeight: number;
}

export interface TargetSource {
  /** function_not_found (or version_not_found, alias_not_found) when there is no such target. */
  resolve(target: string, options: { deadlineMs: number; signal?: AbortSignal }): Promise<FunctionTarget>;
}

/** The config one call runs: an alias's additional version for its share of the calls, drawn per call. */
export function drawConfig(target: FunctionTarget, random: () => number = Math.random): FunctionConfig {
  return target.additional && random() < target.additionalWeight ? target.additional : target.primary;
}

/**
 * Function configs from memory, so a warm invocation asks neither stubs nor
 * Redis. Stubs publishes a change notice (the function's name, or "*" when a
 * runtime changed) on its changes channel; main.ts feeds those notices, and
 * the state of the subscription, into the cache.
 *
 * Why a client that deployed and then invokes never runs the old version:
 *
 * 1. Stubs publishes the notice in the same atomic Redis step as the write
 *    (Lua script or MULTI), before it answers the PUT. Redis appends the
 *    notice to this controller's subscriber connection as it executes
 *    PUBLISH, before its reply to stubs even leaves.
 * 2. The client learns of the deploy only after that reply went
 *    Redis → stubs → httptrigger → client, and its invoke then travels
 *    client → httptrigger → controller: at least four more hops between
 *    processes, each a socket write plus another process's read, against the
 *    notice's single hop Redis → controller.
 * 3. On loopback the notice is in our socket's receive buffer the moment
 *    Redis writes it, so it is readable before the invoke's bytes arrive.
 *    Node handles readable sockets in the order the kernel reports them
 *    (epoll's ready list is first-in first-out), and ioredis drops the entry
 *    synchronously in its data handler, before grpc-js has parsed the
 *    invoke. Across hosts the single hop wins the race unless the Redis →
 *    controller link stalls for longer than the four others together (a
 *    lost packet waiting for retransmission); the TTL below bounds that.
 * 4. A load that was in flight when a notice landed returns its result but
 *    does not keep it (NoticeCache's epoch), so an old config read just
 *    before the write cannot be stored after the notice.
 * 5. While the subscription is not confirmed (start, reconnect) nothing is
 *    served from memory, and everything is dropped on both edges: notices
 *    sent in the gap are lost. A connection that died without closing is
 *    bounded by CONTROLLER_FUNCTION_CACHE_MS.
 *
 * Misses (function_not_found) are never kept, so a deploy right after a 404
 * is seen at once.
 *
 * Entries are keyed by what calls name; stubs' notices name the same
 * ("name:3" when version 3 is deleted, "name:live" when that alias is
 * re-pointed). A published version never changes, so an alias's entry
 * holds both its versions' configs until the alias itself changes.
 */
export class CachedFunctions implements FunctionSource {
  constructor(
    private readonly source: TargetSource,
    private readonly cache: NoticeCache<FunctionTarget>,
    private readonly random: () => number = Math.random,
  ) {}

  async get(target: string, options: { deadlineMs: number; signal?: AbortSignal }): Promise<FunctionConfig> {
    return drawConfig(await this.cache.get(target, () => this.source.resolve(target, options)), this.random);
  }
}
