/**
 * Whether the registry would survive its Redis stopping: only with the
 * append-only file on. Checked at start and every minute (a Redis restarted
 * with other settings is noticed), so the edge's /healthz and the log can
 * say it plainly when a reused Redis keeps its data only in memory or in an
 * occasional snapshot.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '@faas/telemetry';

export interface RegistryStatus {
  readonly durable: boolean;
  readonly warning: string;
}

const CHECK_EVERY_MS = 60_000;

export async function checkRegistryDurability(redis: Pick<Redis, 'config'>, where: string): Promise<RegistryStatus> {
  let appendOnly: string | undefined;
  try {
    const answer = (await redis.config('GET', 'appendonly')) as string[];
    appendOnly = answer[1];
  } catch (error) {
    return { durable: false, warning: `could not ask Redis at ${where} whether it keeps an append-only file (CONFIG GET appendonly: ${(error as Error).message}); the registry may not survive a restart` };
  }
  if (appendOnly === 'yes') return { durable: true, warning: '' };
  return {
    durable: false,
    warning: `Redis at ${where} runs with appendonly=${appendOnly ?? 'unknown'}: functions, versions, aliases, triggers and tokens written since its last snapshot are lost when it stops; run it with --appendonly yes --appendfsync everysec`,
  };
}

export class RegistryDurabilityWatch {
  private status: RegistryStatus = { durable: false, warning: 'not checked yet' };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: Pick<Redis, 'config'>,
    private readonly where: string,
    private readonly log: Logger,
  ) {}

  get current(): RegistryStatus {
    return this.status;
  }

  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    const next = await checkRegistryDurability(this.redis, this.where);
    if (next.warning && next.warning !== this.status.warning) this.log.warn({ redis: this.where }, next.warning);
    this.status = next;
  }
}
