/**
 * The answer to an HTTP invocation, as the agent sends it: status and
 * headers in the RESULT frame's header, the body as the frame's raw bytes
 * (docs/design.md "Invocations"), so nothing downstream parses a JSON
 * envelope or base64. The funclet checks what arrives here (status range,
 * header names and values), since a function can write anything on this
 * socket. Node builtins only.
 */
import type { HttpHead } from './wire.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const BINARY_TYPE = 'application/octet-stream';

export interface HttpReply {
  readonly head: HttpHead;
  readonly body: Uint8Array;
}

interface ShapedResponse {
  statusCode: number;
  headers?: unknown;
  cookies?: unknown;
  body?: unknown;
  isBase64Encoded?: unknown;
}

/**
 * A handler's return value as an HTTP response: `{statusCode, headers,
 * cookies, body, isBase64Encoded}` shapes it; any other value is sent as
 * 200 JSON.
 */
export function httpReplyOf(value: unknown): HttpReply {
  if (!isShapedResponse(value)) return jsonReply(200, value);
  const headers = headerValues(value.headers);
  if (Array.isArray(value.cookies)) {
    const cookies = value.cookies.filter((cookie): cookie is string => typeof cookie === 'string');
    if (cookies.length > 0) headers['set-cookie'] = [...asArray(headers['set-cookie']), ...cookies];
  }
  let body: Uint8Array;
  let defaultType: string | undefined;
  if (value.body === undefined || value.body === null) {
    body = new Uint8Array(0);
  } else if (typeof value.body === 'string') {
    const base64 = value.isBase64Encoded === true;
    body = Buffer.from(value.body, base64 ? 'base64' : 'utf8');
    defaultType = base64 ? BINARY_TYPE : TEXT_TYPE;
  } else {
    body = Buffer.from(JSON.stringify(value.body) ?? 'null', 'utf8');
    defaultType = JSON_TYPE;
  }
  if (defaultType && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = defaultType;
  return { head: { status: value.statusCode, headers }, body };
}

/** `value` as a JSON response with `status`. */
export function jsonReply(status: number, value: unknown): HttpReply {
  return { head: { status, headers: { 'content-type': JSON_TYPE } }, body: Buffer.from(JSON.stringify(value ?? null) ?? 'null', 'utf8') };
}

function isShapedResponse(value: unknown): value is ShapedResponse {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as ShapedResponse).statusCode === 'number';
}

/** Header values as strings (numbers and booleans too); anything else is left out. */
function headerValues(raw: unknown): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return headers;
  for (const [name, value] of Object.entries(raw)) {
    const values = (Array.isArray(value) ? value : [value]).filter(isScalar).map(String);
    if (values.length > 0) headers[name] = values.length === 1 ? values[0]! : values;
  }
  return headers;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function asArray(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
