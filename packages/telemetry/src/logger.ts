import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON line per event, on stdout, with the service name. Lines about a
 * call carry its call id, which is also on its spans (faas.call_id): there
 * is no ambient active span to read trace ids from (explicit-context.ts).
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
