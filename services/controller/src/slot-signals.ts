/**
 * The controllers' word to each other about functions at their limit, on
 * one Redis pub/sub channel: "calls wait here for slots of f" and "slots of
 * f came free". Best effort by design: a lost message delays a waiting call
 * until the next maintenance round asks again, and never lets a limit be
 * exceeded, which the concurrency book alone guarantees.
 */
import type { Redis } from 'ioredis';
import { subscribeChannel, type ChannelSubscription, type RedisTarget } from '@faas/redis';
import type { Logger } from '@faas/telemetry';
import type { SlotSignals } from './placement.js';

/** One "wanted" per function per this long: every waiting call need not say it. */
const WANTED_EVERY_MS = 200;

interface Signal {
  readonly kind: 'wanted' | 'freed';
  readonly fn: string;
  /** The sender's controller id: a controller ignores its own. */
  readonly from: string;
}

export class RedisSlotSignals implements SlotSignals {
  private readonly lastWanted = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
    private readonly controllerId: string,
  ) {}

  wanted(functionName: string): void {
    const now = Date.now();
    if (now - (this.lastWanted.get(functionName) ?? 0) < WANTED_EVERY_MS) return;
    this.lastWanted.set(functionName, now);
    if (this.lastWanted.size > 10_000) this.lastWanted.clear();
    this.send({ kind: 'wanted', fn: functionName, from: this.controllerId });
  }

  freed(functionName: string): void {
    this.send({ kind: 'freed', fn: functionName, from: this.controllerId });
  }

  private send(signal: Signal): void {
    this.redis.publish(this.channel, JSON.stringify(signal)).catch(() => {});
  }
}

/** Hears the other controllers' signals. */
export function listenForSlotSignals(
  target: RedisTarget,
  channel: string,
  controllerId: string,
  handlers: { wanted(functionName: string, from: string): void; freed(functionName: string): void },
  log: Logger,
): ChannelSubscription {
  return subscribeChannel(
    target,
    channel,
    {
      onMessage: (message) => {
        const signal = parseSignal(message);
        if (!signal || signal.from === controllerId) return;
        if (signal.kind === 'wanted') handlers.wanted(signal.fn, signal.from);
        else handlers.freed(signal.fn);
      },
    },
    log,
  );
}

function parseSignal(message: string): Signal | undefined {
  try {
    const value = JSON.parse(message) as Partial<Signal>;
    if ((value.kind !== 'wanted' && value.kind !== 'freed') || typeof value.fn !== 'string' || typeof value.from !== 'string') return undefined;
    return { kind: value.kind, fn: value.fn, from: value.from };
  } catch {
    return undefined;
  }
}
