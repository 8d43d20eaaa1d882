import type { Logger } from '@faas/telemetry';
import { newRedisClient, type RedisTarget } from './target.js';

export interface ChannelHandlers {
  onMessage(message: string): void;
  /**
   * Called with true once Redis has confirmed the subscription, and with
   * false as soon as the connection is lost. Notices published while not
   * subscribed are gone for good, so a listener must treat both edges as
   * "anything I learnt from notices may be out of date".
   */
  onActiveChange?(active: boolean): void;
}

export interface ChannelSubscription {
  /** True only while messages published now are certain to reach onMessage (barring a silently dead socket). */
  readonly active: boolean;
  close(): Promise<void>;
}

/**
 * Listens on one pub/sub channel over a connection of its own (a subscribed
 * connection can run no other commands), resubscribing after every
 * reconnect. ioredis' own automatic resubscription is off because it does
 * not say when the subscription is confirmed again, which is what callers
 * gate on.
 */
export function subscribeChannel(target: RedisTarget, channel: string, handlers: ChannelHandlers, log: Logger): ChannelSubscription {
  const redis = newRedisClient(target, {
    autoResubscribe: false,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  let active = false;
  let closed = false;
  // Counts connections, so a SUBSCRIBE answered on an older connection is not taken for this one.
  let connection = 0;
  const setActive = (next: boolean) => {
    if (next === active) return;
    active = next;
    handlers.onActiveChange?.(next);
  };

  redis.on('ready', () => {
    const current = ++connection;
    redis.subscribe(channel).then(
      () => {
        if (current !== connection || redis.status !== 'ready' || closed) return;
        log.info({ channel }, 'redis subscription active');
        setActive(true);
      },
      (error: Error) => {
        if (current !== connection || closed) return;
        log.warn({ channel, err: error.message }, 'redis subscribe failed; reconnecting');
        redis.disconnect(true);
      },
    );
  });
  redis.on('message', (from: string, message: string) => {
    if (from === channel) handlers.onMessage(message);
  });
  redis.on('close', () => {
    if (active) log.warn({ channel }, 'redis subscription lost; reconnecting');
    setActive(false);
  });
  redis.on('error', () => {
    // 'close' follows and is logged once per outage; retries stay quiet.
  });

  return {
    get active() {
      return active;
    },
    async close() {
      closed = true;
      setActive(false);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
