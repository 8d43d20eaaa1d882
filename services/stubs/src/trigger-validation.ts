import { Cron } from 'croner';
import { PlatformError } from '@faas/errors';
import {
  CRON_FIELDS,
  FUNCTION_NAME,
  TRIGGER_EVENT_MAX_BYTES,
  TRIGGER_TYPES,
  TriggerConfigSchema,
  create,
  cronFieldCount,
  isTimeZone,
  isTriggerType,
  triggerSubjectProblem,
  type TriggerConfig,
} from '@faas/protocol';

function invalid(message: string): PlatformError {
  return new PlatformError('invalid_trigger_config', message);
}

/**
 * Checks a trigger and keeps only the fields its type uses. Timestamps are
 * cleared: the registry assigns them. Whether the function exists is the
 * registry's check.
 */
export function normaliseTrigger(input: TriggerConfig): TriggerConfig {
  if (!FUNCTION_NAME.test(input.name)) throw invalid(`trigger name ${JSON.stringify(input.name.slice(0, 80))} must be 1-63 characters of a-z, 0-9 and "-", starting with a letter`);
  if (!isTriggerType(input.type)) throw invalid(`type must be one of ${TRIGGER_TYPES.join(', ')} (got ${JSON.stringify(input.type.slice(0, 40))})`);
  if (!FUNCTION_NAME.test(input.functionName)) throw invalid('function must name a function (1-63 characters of a-z, 0-9 and "-")');
  const base = { name: input.name, type: input.type, functionName: input.functionName };
  if (input.type === 'nats') {
    const problem = triggerSubjectProblem(input.subject);
    if (problem) throw invalid(`subject ${problem}`);
    return create(TriggerConfigSchema, { ...base, subject: input.subject });
  }
  const schedule = input.schedule.trim().replace(/\s+/g, ' ');
  if (cronFieldCount(schedule) !== CRON_FIELDS) throw invalid(`schedule must have ${CRON_FIELDS} fields (minute hour day-of-month month day-of-week), e.g. "*/5 * * * *"`);
  const timezone = input.timezone || 'UTC';
  if (!isTimeZone(timezone)) throw invalid(`timezone ${JSON.stringify(timezone.slice(0, 80))} is not an IANA time zone`);
  try {
    new Cron(schedule, { timezone, paused: true });
  } catch (error) {
    throw invalid(`schedule: ${(error as Error).message}`);
  }
  const event = input.event === '' ? '{}' : input.event;
  if (Buffer.byteLength(event, 'utf8') > TRIGGER_EVENT_MAX_BYTES) throw invalid(`event must be at most ${TRIGGER_EVENT_MAX_BYTES} bytes of JSON`);
  try {
    JSON.parse(event);
  } catch {
    throw invalid('event must be JSON');
  }
  return create(TriggerConfigSchema, { ...base, schedule, timezone, event });
}
