/**
 * Turns an INVOKE frame into the event a Node handler receives, as
 * docs/design.md ("Invocations") defines it. Runs inside the sandbox: node
 * builtins only.
 */
import { utf8OrUndefined } from './text.js';
import type { HttpRequestHeader, InvokeHeader } from './wire.js';

export interface HttpEvent {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  rawQuery: string;
  headers: Record<string, string>;
  /** An HTTP trigger's path parameters ({} on other routes). */
  pathParameters: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

export function buildEvent(header: InvokeHeader, payload: Buffer): unknown {
  if (header.kind === 'http') return buildHttpEvent(header.http, payload);
  return decodeEventPayload(payload);
}

/**
 * The event of an event invocation, whatever the request's content type
 * says (as Lambda's Invoke: `curl -d` labels JSON as a form): the parsed
 * JSON when the payload parses as JSON, else the text when it is UTF-8,
 * else the raw bytes. The content type is kept for the handler's context.
 */
export function decodeEventPayload(payload: Buffer): unknown {
  if (payload.length === 0) return payload;
  const text = utf8OrUndefined(payload);
  if (text === undefined) return payload;
  try {
    return JSON.parse(text);
  } catch {
    // Text that is not JSON: the handler gets the string.
    return text;
  }
}

export function buildHttpEvent(http: HttpRequestHeader | undefined, payload: Buffer): HttpEvent {
  const rawQuery = http?.rawQuery ?? '';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(http?.headers ?? {})) headers[name.toLowerCase()] = value;
  const text = utf8OrUndefined(payload);
  return {
    method: http?.method ?? 'GET',
    path: http?.path ?? '/',
    query: parseQuery(rawQuery),
    rawQuery,
    headers,
    pathParameters: { ...(http?.pathParameters ?? {}) },
    body: text ?? payload.toString('base64'),
    isBase64Encoded: text === undefined,
  };
}

export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else query[key] = [existing, value];
  }
  return query;
}
