import { adminTokenFor } from '@faas/launcher';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any;
}

/**
 * fetch, with the body read and parsed, for short assertions. A call to a
 * platform this process started carries its admin token, unless the call
 * sets its own Authorization header (`authorization: ''` sends none).
 */
export async function http(url: string, init: RequestInit & { json?: unknown } = {}): Promise<HttpAnswer> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const token = adminTokenFor(url);
  if (!headers.has('authorization') && token) headers.set('authorization', `Bearer ${token}`);
  if (headers.get('authorization') === '') headers.delete('authorization');
  const request: RequestInit = { ...rest, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) };
  const response = await fetch(url, request);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: parsed };
}

export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
