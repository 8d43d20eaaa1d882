import type { Logger } from 'pino';
import { stopTelemetry } from './sdk.js';

/**
 * The end every service shares: on the first SIGINT or SIGTERM, log it, run
 * the service's own steps (stop taking work, finish or fail what runs,
 * release what it owns), flush telemetry, and exit 0; a second signal
 * changes nothing. A step that throws is logged and the exit code is 1.
 */
export function onShutdownSignal(logger: Logger, steps: (signal: string) => Promise<void>, describe: () => object = () => ({})): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, ...describe() }, 'shutting down');
    let code = 0;
    try {
      await steps(signal);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      code = 1;
    }
    await stopTelemetry();
    logger.info('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** Resolves true when `work` settles within `ms`, false when it does not (it keeps going). */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}
