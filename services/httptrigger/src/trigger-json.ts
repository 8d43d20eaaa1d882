import { PlatformError } from '@faas/errors';
import type { MessageInitShape, TriggerConfig, TriggerConfigSchema } from '@faas/protocol';

/** A trigger as the REST API shows it; only its type's fields appear. */
export type TriggerJson =
  | { readonly name: string; readonly type: 'nats'; readonly subject: string; readonly function: string; readonly createdAt: string | null; readonly updatedAt: string | null }
  | {
      readonly name: string;
      readonly type: 'cron';
      readonly schedule: string;
      readonly timezone: string;
      readonly function: string;
      readonly event: unknown;
      readonly createdAt: string | null;
      readonly updatedAt: string | null;
    }
  | {
      readonly name: string;
      readonly type: 'http';
      readonly methods: string[];
      readonly path: string;
      readonly host: string;
      readonly cors: CorsJson | null;
      readonly function: string;
      readonly createdAt: string | null;
      readonly updatedAt: string | null;
    };

export interface CorsJson {
  readonly allowOrigins: string[];
  readonly allowMethods: string[];
  readonly allowHeaders: string[];
  readonly exposeHeaders: string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
}

const CORS_LISTS = ['allowOrigins', 'allowMethods', 'allowHeaders', 'exposeHeaders'] as const;

const FIELDS = new Set(['name', 'type', 'subject', 'schedule', 'timezone', 'function', 'event', 'methods', 'path', 'host', 'cors', 'createdAt', 'updatedAt']);

export function triggerToJson(trigger: TriggerConfig): TriggerJson {
  const common = { name: trigger.name, function: trigger.functionName, createdAt: iso(trigger.createdAtMs), updatedAt: iso(trigger.updatedAtMs) };
  if (trigger.type === 'http') {
    const cors = trigger.cors
      ? { allowOrigins: [...trigger.cors.allowOrigins], allowMethods: [...trigger.cors.allowMethods], allowHeaders: [...trigger.cors.allowHeaders], exposeHeaders: [...trigger.cors.exposeHeaders], allowCredentials: trigger.cors.allowCredentials, maxAgeSeconds: trigger.cors.maxAgeSeconds }
      : null;
    return { ...common, type: 'http', methods: [...trigger.methods], path: trigger.path, host: trigger.host, cors };
  }
  if (trigger.type === 'cron') {
    return { ...common, type: 'cron', schedule: trigger.schedule, timezone: trigger.timezone, event: parseEvent(trigger.event) };
  }
  return { ...common, type: 'nats', subject: trigger.subject };
}

/**
 * `{type: "nats", subject, function}` or `{type: "cron", schedule, timezone?,
 * function, event?}`: the shape only (types, unknown fields); stubs judges
 * subjects, schedules and zones.
 */
export function triggerFromRequest(name: string, body: unknown): MessageInitShape<typeof TriggerConfigSchema> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  const fields = body as Record<string, unknown>;
  for (const field of Object.keys(fields)) if (!FIELDS.has(field)) throw badRequest(`unknown field "${field}"`);
  if (fields.name !== undefined && fields.name !== name) throw badRequest(`field "name" (${JSON.stringify(fields.name)}) differs from the path (${name})`);
  for (const field of ['type', 'subject', 'schedule', 'timezone', 'function', 'path', 'host']) {
    if (fields[field] !== undefined && typeof fields[field] !== 'string') throw badRequest(`field "${field}" must be a string`);
  }
  if (typeof fields.type !== 'string' || fields.type === '') throw badRequest('field "type" must be "nats", "cron" or "http"');
  if (typeof fields.function !== 'string' || fields.function === '') throw badRequest('field "function" must name a function');
  return {
    name,
    type: fields.type,
    functionName: fields.function,
    subject: (fields.subject as string | undefined) ?? '',
    schedule: (fields.schedule as string | undefined) ?? '',
    timezone: (fields.timezone as string | undefined) ?? '',
    event: fields.event === undefined ? '' : JSON.stringify(fields.event),
    methods: stringList(fields.methods, 'methods'),
    path: (fields.path as string | undefined) ?? '',
    host: (fields.host as string | undefined) ?? '',
    cors: corsFromRequest(fields.cors),
  };
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw badRequest(`field "${field}" must be an array of strings`);
  return value as string[];
}

/** `cors: {allowOrigins, allowMethods?, allowHeaders?, exposeHeaders?, allowCredentials?, maxAgeSeconds?}`; stubs judges the values. */
function corsFromRequest(value: unknown) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('field "cors" must be an object like {"allowOrigins": ["https://example.com"]}');
  const cors = value as Record<string, unknown>;
  for (const field of Object.keys(cors)) if (!(CORS_LISTS as readonly string[]).includes(field) && field !== 'allowCredentials' && field !== 'maxAgeSeconds') throw badRequest(`unknown field "cors.${field}"`);
  if (cors.allowCredentials !== undefined && typeof cors.allowCredentials !== 'boolean') throw badRequest('field "cors.allowCredentials" must be a boolean');
  const maxAge = cors.maxAgeSeconds;
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0)) throw badRequest('field "cors.maxAgeSeconds" must be a non-negative integer');
  return {
    allowOrigins: stringList(cors.allowOrigins, 'cors.allowOrigins'),
    allowMethods: stringList(cors.allowMethods, 'cors.allowMethods'),
    allowHeaders: stringList(cors.allowHeaders, 'cors.allowHeaders'),
    exposeHeaders: stringList(cors.exposeHeaders, 'cors.exposeHeaders'),
    allowCredentials: cors.allowCredentials === true,
    maxAgeSeconds: typeof maxAge === 'number' ? maxAge : 0,
  };
}

function parseEvent(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return text;
  }
}

function iso(ms: bigint): string | null {
  return ms > 0n ? new Date(Number(ms)).toISOString() : null;
}

function badRequest(message: string): PlatformError {
  return new PlatformError('bad_request', message);
}
