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
    };

const FIELDS = new Set(['name', 'type', 'subject', 'schedule', 'timezone', 'function', 'event', 'createdAt', 'updatedAt']);

export function triggerToJson(trigger: TriggerConfig): TriggerJson {
  const common = { name: trigger.name, function: trigger.functionName, createdAt: iso(trigger.createdAtMs), updatedAt: iso(trigger.updatedAtMs) };
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
  for (const field of ['type', 'subject', 'schedule', 'timezone', 'function']) {
    if (fields[field] !== undefined && typeof fields[field] !== 'string') throw badRequest(`field "${field}" must be a string`);
  }
  if (typeof fields.type !== 'string' || fields.type === '') throw badRequest('field "type" must be "nats" or "cron"');
  if (typeof fields.function !== 'string' || fields.function === '') throw badRequest('field "function" must name a function');
  return {
    name,
    type: fields.type,
    functionName: fields.function,
    subject: (fields.subject as string | undefined) ?? '',
    schedule: (fields.schedule as string | undefined) ?? '',
    timezone: (fields.timezone as string | undefined) ?? '',
    event: fields.event === undefined ? '' : JSON.stringify(fields.event),
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
