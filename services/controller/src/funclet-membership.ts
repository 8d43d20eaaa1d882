import type { Redis } from 'ioredis';
import type { FuncletInfo } from './funclet-port.js';
import { withRedis } from '@faas/redis';
import type { ControllerKeys } from './redis-keys.js';

export interface MembershipOptions {
  readonly ttlMs: number;
  /** How long a listing is reused; many invocations start within one heartbeat. */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/**
 * Which funclets are alive: each heartbeat rewrites the funclet's key with a
 * TTL, so a funclet that stops heartbeating simply disappears. Stored in
 * Redis so every controller replica sees the same set.
 */
export class FuncletMembership {
  private readonly now: () => number;
  private readonly cacheMs: number;
  private cached: { readonly atMs: number; readonly funclets: FuncletInfo[] } | undefined;
  private listing: Promise<FuncletInfo[]> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ControllerKeys,
    private readonly options: MembershipOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.cacheMs = options.cacheMs ?? 500;
  }

  async register(funclet: Omit<FuncletInfo, 'seenAtMs'>): Promise<FuncletInfo> {
    const info: FuncletInfo = { ...funclet, seenAtMs: this.now() };
    await withRedis(() => this.redis.set(this.keys.funclet(info.id), JSON.stringify(info), 'PX', this.options.ttlMs));
    // Heartbeats come from every funclet every few seconds: update the
    // listing in place rather than dropping it, or nearly every placement
    // would rescan Redis. Its age is kept, so expiries still show at the next scan.
    if (this.cached) {
      const funclets = this.cached.funclets.filter((known) => known.id !== info.id).concat(info);
      funclets.sort((a, b) => a.id.localeCompare(b.id));
      this.cached = { atMs: this.cached.atMs, funclets };
    }
    return info;
  }

  async live(): Promise<FuncletInfo[]> {
    if (this.cached && this.now() - this.cached.atMs < this.cacheMs) return this.cached.funclets;
    // Concurrent callers share one SCAN.
    this.listing ??= this.scan().finally(() => (this.listing = undefined));
    return this.listing;
  }

  private async scan(): Promise<FuncletInfo[]> {
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await withRedis(() => this.redis.scan(cursor, 'MATCH', this.keys.funcletPattern, 'COUNT', 200));
      for (const key of batch) keys.add(key);
      cursor = next;
    } while (cursor !== '0');

    const values = keys.size === 0 ? [] : await withRedis(() => this.redis.mget([...keys]));
    const funclets = values.flatMap((json) => {
      const funclet = json === null ? undefined : parseFunclet(json);
      return funclet ? [funclet] : [];
    });
    funclets.sort((a, b) => a.id.localeCompare(b.id));
    this.cached = { atMs: this.now(), funclets };
    return funclets;
  }
}

function parseFunclet(json: string): FuncletInfo | undefined {
  try {
    const value = JSON.parse(json) as Partial<FuncletInfo>;
    if (typeof value.id !== 'string' || typeof value.address !== 'string' || typeof value.bootId !== 'string') return undefined;
    return {
      id: value.id,
      address: value.address,
      bootId: value.bootId,
      memoryMbTotal: Number(value.memoryMbTotal) || 0,
      memoryMbUsed: Number(value.memoryMbUsed) || 0,
      runtimes: Array.isArray(value.runtimes) ? value.runtimes.filter((r): r is string => typeof r === 'string') : [],
      seenAtMs: Number(value.seenAtMs) || 0,
    };
  } catch {
    // Someone else's garbage under our prefix must not break scheduling.
    return undefined;
  }
}
