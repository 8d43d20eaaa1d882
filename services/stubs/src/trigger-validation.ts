import { Cron } from 'croner';
import { PlatformError } from '@faas/errors';
import {
  CRON_FIELDS,
  FUNCTION_NAME,
  HTTP_TRIGGER_METHODS,
  TRIGGER_EVENT_MAX_BYTES,
  TRIGGER_TYPES,
  TriggerConfigSchema,
  create,
  cronFieldCount,
  httpPathProblem,
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
  if (input.type === 'http') return create(TriggerConfigSchema, { ...base, ...normaliseHttpTrigger(input) });
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

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/;
const MAX_CORS_AGE_SECONDS = 86_400;

function methodsOf(values: readonly string[], field: string): string[] {
  const methods = [...new Set(values.map((method) => method.toUpperCase()))].sort();
  const unknown = methods.find((method) => !(HTTP_TRIGGER_METHODS as readonly string[]).includes(method));
  if (unknown !== undefined) throw invalid(`${field} must be among ${HTTP_TRIGGER_METHODS.join(', ')} (got ${JSON.stringify(unknown.slice(0, 20))})`);
  return methods;
}

/** An HTTP trigger's methods (sorted, upper case; none means all), path pattern, host and CORS. */
function normaliseHttpTrigger(input: TriggerConfig) {
  const problem = httpPathProblem(input.path);
  if (problem) throw invalid(`path ${problem}`);
  const host = input.host.toLowerCase();
  if (host !== '' && !HOST_NAME.test(host)) throw invalid(`host ${JSON.stringify(input.host.slice(0, 80))} must be a host name, without port or scheme`);
  const cors = input.cors;
  if (cors) {
    if (cors.allowOrigins.length === 0) throw invalid('cors.allowOrigins must list the origins allowed, or "*"');
    for (const origin of cors.allowOrigins) if (origin !== '*' && !ORIGIN.test(origin)) throw invalid(`cors.allowOrigins: ${JSON.stringify(origin.slice(0, 80))} is not "*" or an origin like https://example.com`);
    if (cors.allowCredentials && cors.allowOrigins.includes('*')) throw invalid('cors.allowCredentials needs the origins named: browsers refuse credentials with "*"');
    for (const header of [...cors.allowHeaders, ...cors.exposeHeaders]) if (!HEADER_NAME.test(header)) throw invalid(`cors: ${JSON.stringify(header.slice(0, 80))} is not a header name`);
    if (cors.maxAgeSeconds > MAX_CORS_AGE_SECONDS) throw invalid(`cors.maxAgeSeconds must be at most ${MAX_CORS_AGE_SECONDS}`);
  }
  return {
    methods: methodsOf(input.methods, 'methods'),
    path: input.path,
    host,
    cors: cors ? { ...cors, allowMethods: methodsOf(cors.allowMethods, 'cors.allowMethods') } : undefined,
  };
}
