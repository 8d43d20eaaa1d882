/**
 * The funclet is where a sandbox's answer to an HTTP call stops being
 * untrusted: a function can write anything on its agent socket, so the
 * status and headers are checked here, once, and every hop after this
 * (edge, queue-worker, gRPC callers) forwards them as they are.
 */
import { PlatformError } from '@faas/errors';
import { HOP_BY_HOP_HEADERS, type HttpHeader } from '@faas/protocol';

/** Headers a function may not set: hop-by-hop ones are per connection, framing is the edge's, call ids are ours. */
const RESERVED_RESPONSE_HEADERS = new Set([...HOP_BY_HOP_HEADERS, 'content-length', 'x-call-id', 'x-duration-seconds']);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface CheckedHttpHead {
  readonly status: number;
  readonly headers: HttpHeader[];
}

/**
 * The agent's RESULT header for an HTTP call as a status and header list:
 * names lower-cased, invalid or reserved ones left out, repeated values
 * joined (Set-Cookie kept apart). A status outside 200..599 is the
 * function's mistake, answered as bad_gateway.
 */
export function checkHttpHead(head: unknown): CheckedHttpHead {
  const { status, headers } = (typeof head === 'object' && head !== null ? head : {}) as { status?: unknown; headers?: unknown };
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new PlatformError('bad_gateway', `the function returned statusCode ${String(status)}; expected an integer from 200 to 599`);
  }
  const checked: HttpHeader[] = [];
  if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
    for (const [rawName, rawValue] of Object.entries(headers)) {
      const name = rawName.toLowerCase();
      if (!HEADER_NAME.test(name) || RESERVED_RESPONSE_HEADERS.has(name)) continue;
      const values = (Array.isArray(rawValue) ? rawValue : [rawValue]).filter((value): value is string => typeof value === 'string' && HEADER_VALUE.test(value));
      if (values.length === 0) continue;
      if (name === 'set-cookie') for (const value of values) checked.push(header(name, value));
      else checked.push(header(name, values.join(', ')));
    }
  }
  return { status, headers: checked };
}

/** A header message, built literally: this runs for every header of every HTTP call. */
function header(name: string, value: string): HttpHeader {
  return { $typeName: 'faas.v1.HttpHeader', name, value };
}
