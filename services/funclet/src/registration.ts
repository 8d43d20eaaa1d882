/**
 * Announces this funclet to the controller and keeps announcing it: the
 * controller forgets funclets whose heartbeat stops. The controller may start
 * after the funclet or restart; failures are logged and retried.
 */
import type { Logger } from '@faas/telemetry';

export interface FuncletAnnouncement {
  readonly funcletId: string;
  readonly address: string;
  readonly bootId: string;
  readonly memoryMbTotal: number;
  readonly memoryMbUsed: number;
  readonly runtimes: string[];
}

/** Sends one announcement; resolves with the interval the controller asks for (0: no preference). */
export type Announce = (announcement: FuncletAnnouncement) => Promise<number>;

export interface Heartbeat {
  stop(): void;
}

export function startHeartbeat(options: {
  readonly announce: Announce;
  readonly describe: () => FuncletAnnouncement;
  readonly intervalMs: number;
  readonly log: Logger;
}): Heartbeat {
  const { announce, describe, log } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing: boolean | undefined;

  const beat = async () => {
    let nextMs = options.intervalMs;
    try {
      const asked = await announce(describe());
      // Beating more often than asked is harmless; less often could get us forgotten.
      if (asked > 0) nextMs = Math.min(asked, options.intervalMs);
      if (failing !== false) log.info({ intervalMs: nextMs }, 'registered with the controller');
      failing = false;
    } catch (error) {
      // One warning per outage, not one per beat.
      if (failing !== true) log.warn({ err: error }, 'cannot register with the controller; retrying');
      failing = true;
    }
    if (!stopped) timer = setTimeout(beat, nextMs);
  };
  void beat();

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
