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
  body: string;
  isBase64Encoded: boolean;
}

export function buildEvent(header: InvokeHeader, payload: Buffer): unknown {
  if (header.kind === 'http') return buildHttpEvent(header.http, payload);
  return decodeEventPayload(header.contentType, payload);
}

/** Parsed JSON when the payload is JSON (by content type and by parsing), else the raw bytes. */
export function decodeEventPayload(contentType: string, payload: Buffer): unknown {
  const mayBeJson = contentType === '' || /json/i.test(contentType);
  if (mayBeJson && payload.length > 0) {
    try {
      return JSON.parse(payload.toString('utf8'));
    } catch {
      // Not JSON after all: the handler gets the bytes.
    }
  }
  return payload;
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
