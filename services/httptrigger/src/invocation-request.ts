import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { PlatformError } from '@faas/errors';
import { CALL_ID, HOP_BY_HOP_HEADERS, InvocationKind, type Invocation } from '@faas/protocol';


/** Connection header values that name no other header. */
const CONNECTION_OPTIONS = new Set(['keep-alive', 'close']);

/** The caller's `X-Call-Id` when it is valid, else a fresh UUID. */
export function resolveCallId(header: string | string[] | undefined, generate: () => string = randomUUID): string {
  if (header === undefined || header === '') return generate();
  const value = Array.isArray(header) ? header[0] ?? '' : header;
  if (!CALL_ID.test(value)) throw new PlatformError('bad_request', 'X-Call-Id must match ^[A-Za-z0-9_.:-]{1,128}$');
  return value;
}

/*
 * The invocations are built as message literals, every field given, rather
 * than through protobuf-es's create(): this runs for every call, and the
 * Invocation type makes the compiler check that no field is missing.
 */

export function eventInvocation(input: { functionName: string; callId: string; payload: Uint8Array; contentType: string; cloudEventAttributes?: Record<string, string> }): Invocation {
  return {
    $typeName: 'faas.v1.Invocation',
    functionName: input.functionName,
    callId: input.callId,
    kind: InvocationKind.EVENT,
    payload: input.payload,
    contentType: input.contentType,
    wantLogTail: false,
    cloudEventAttributes: input.cloudEventAttributes ?? {},
  };
}

export interface HttpInvocationInput {
  readonly functionName: string;
  readonly callId: string;
  readonly method: string;
  /** The request target as received, e.g. `/function/echo/a/b?x=1`. */
  readonly rawUrl: string;
  readonly headers: IncomingHttpHeaders;
  readonly payload: Uint8Array;
  /** An HTTP trigger's path parameters. */
  readonly pathParameters?: Record<string, string>;
  /** The path the function sees, when it is not the part below `/<route>/<name>` (HTTP triggers: the whole path). */
  readonly path?: string;
}

export function httpInvocation(input: HttpInvocationInput): Invocation {
  const below = pathBelowFunction(input.rawUrl);
  const path = input.path ?? below.path;
  const rawQuery = below.rawQuery;
  const contentType = input.headers['content-type'];
  return {
    $typeName: 'faas.v1.Invocation',
    functionName: input.functionName,
    callId: input.callId,
    kind: InvocationKind.HTTP,
    payload: input.payload,
    contentType: typeof contentType === 'string' ? contentType : '',
    http: { $typeName: 'faas.v1.HttpRequest', method: input.method, path, rawQuery, headers: forwardableHeaders(input.headers), pathParameters: input.pathParameters ?? {} },
    wantLogTail: false,
    // The function sees the request itself, ce-* headers included.
    cloudEventAttributes: {},
  };
}

/**
 * Splits `/<route>/<name>/rest?query` into the path below the function
 * (always starting with "/", kept as sent, percent-encoding included) and
 * the raw query.
 */
export function pathBelowFunction(rawUrl: string): { path: string; rawQuery: string } {
  const queryAt = rawUrl.indexOf('?');
  const end = queryAt === -1 ? rawUrl.length : queryAt;
  const rawQuery = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  // '/<route>/<name>' then the rest: the third slash starts the path below the function.
  const afterRoute = rawUrl.indexOf('/', 1);
  const afterName = afterRoute === -1 || afterRoute >= end ? -1 : rawUrl.indexOf('/', afterRoute + 1);
  const path = afterName === -1 || afterName >= end ? '/' : rawUrl.slice(afterName, end);
  return { path, rawQuery };
}

/** Request headers as the function sees them: lower-case, one string each, no hop-by-hop ones. */
export function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  // Headers the Connection header names are hop-by-hop too; most requests name none but keep-alive or close.
  const connection = headers.connection;
  const namedByConnection =
    typeof connection === 'string' && !CONNECTION_OPTIONS.has(connection.toLowerCase())
      ? new Set(connection.split(',').map((token) => token.trim().toLowerCase()))
      : undefined;
  const forwarded: Record<string, string> = {};
  // Node gives header names in lower case already.
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || HOP_BY_HOP_HEADERS.has(key) || namedByConnection?.has(key)) continue;
    forwarded[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return forwarded;
}

/** `X-Callback-Url`, when given, must be an absolute http(s) URL. */
export function callbackUrlFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return '';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PlatformError('bad_request', 'X-Callback-Url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PlatformError('bad_request', 'X-Callback-Url must be an absolute http(s) URL');
  return url.href;
}

/** `X-Invocation-Type`: Lambda's RequestResponse (default) or Event (asynchronous). */
export function isAsyncInvocationType(header: string | string[] | undefined): boolean {
  const value = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  if (!value || value === 'requestresponse') return false;
  if (value === 'event') return true;
  throw new PlatformError('bad_request', 'X-Invocation-Type must be RequestResponse or Event');
}
