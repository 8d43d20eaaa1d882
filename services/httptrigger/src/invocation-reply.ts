import type { FunctionError, InvocationResult } from '@faas/protocol';
import { FunctionErrorType } from '@faas/errors';

/** An HTTP answer, independent of the server library. */
export interface HttpReply {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | string;
}

export const FUNCTION_ERROR_HEADER = 'x-function-error';
const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Response headers the function may not set: framing is ours, hop-by-hop ones are per connection. */
const RESERVED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'content-length',
  'x-call-id',
  'x-duration-seconds',
]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface FunctionErrorBody {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace?: string[];
}

export function functionErrorBody(error: FunctionError, includeStack: boolean): FunctionErrorBody {
  const body: FunctionErrorBody = { errorType: error.type || 'Error', errorMessage: error.message };
  if (!includeStack || !error.stack) return body;
  return { ...body, stackTrace: error.stack.split('\n') };
}

/**
 * An event invocation's answer (Lambda style): 200 with the result, or 200
 * with `X-Function-Error` and the error when the function failed: the call
 * itself worked. The stack is the caller's own code, so it is included.
 */
export function eventReply(result: InvocationResult): HttpReply {
  if (result.functionError) {
    return {
      status: 200,
      headers: { 'content-type': JSON_TYPE, [FUNCTION_ERROR_HEADER]: headerSafe(result.functionError.type || 'Error') },
      body: JSON.stringify(functionErrorBody(result.functionError, true)),
    };
  }
  return { status: 200, headers: { 'content-type': JSON_TYPE }, body: resultBytes(result) };
}

/**
 * An HTTP invocation's answer, shaped by the handler's result as
 * docs/design.md "Invocations" says. Function errors are 500 (504 on
 * timeout) without a stack: these routes face the function's own users.
 */
export function httpReply(result: InvocationResult): HttpReply {
  if (result.functionError) {
    const type = result.functionError.type || 'Error';
    return {
      status: type === FunctionErrorType.Timeout ? 504 : 500,
      headers: { 'content-type': JSON_TYPE, [FUNCTION_ERROR_HEADER]: headerSafe(type) },
      body: JSON.stringify(functionErrorBody(result.functionError, false)),
    };
  }
  const bytes = resultBytes(result);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { status: 200, headers: { 'content-type': JSON_TYPE }, body: bytes };
  }
  if (!isShapedResponse(value)) return { status: 200, headers: { 'content-type': JSON_TYPE }, body: bytes };
  return shapedReply(value);
}

interface ShapedResponse {
  statusCode: number;
  headers?: unknown;
  cookies?: unknown;
  body?: unknown;
  isBase64Encoded?: unknown;
}

function isShapedResponse(value: unknown): value is ShapedResponse {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as ShapedResponse).statusCode === 'number';
}

function shapedReply(value: ShapedResponse): HttpReply {
  const status = value.statusCode;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    return {
      status: 502,
      headers: { 'content-type': JSON_TYPE },
      body: JSON.stringify({ code: 'bad_gateway', message: `the function returned statusCode ${status}; expected an integer from 200 to 599` }),
    };
  }
  const headers = responseHeaders(value.headers);
  if (Array.isArray(value.cookies)) {
    const cookies = value.cookies.filter((cookie): cookie is string => typeof cookie === 'string' && HEADER_VALUE.test(cookie));
    if (cookies.length > 0) headers['set-cookie'] = [...asArray(headers['set-cookie']), ...cookies];
  }

  let body: Buffer | string;
  let defaultType: string | undefined;
  if (value.body === undefined || value.body === null) {
    body = '';
  } else if (typeof value.body === 'string') {
    body = value.isBase64Encoded === true ? Buffer.from(value.body, 'base64') : value.body;
    defaultType = value.isBase64Encoded === true ? 'application/octet-stream' : TEXT_TYPE;
  } else {
    body = JSON.stringify(value.body);
    defaultType = JSON_TYPE;
  }
  if (defaultType && headers['content-type'] === undefined) headers['content-type'] = defaultType;
  return { status, headers, body };
}

function responseHeaders(raw: unknown): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return headers;
  for (const [name, value] of Object.entries(raw)) {
    const key = name.toLowerCase();
    if (!HEADER_NAME.test(key) || RESERVED_RESPONSE_HEADERS.has(key)) continue;
    const values = (Array.isArray(value) ? value : [value])
      .filter((item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')
      .map(String)
      .filter((item) => HEADER_VALUE.test(item));
    if (values.length === 0) continue;
    headers[key] = key === 'set-cookie' ? values : values.join(', ');
  }
  return headers;
}

function resultBytes(result: InvocationResult): Buffer {
  if (result.result.byteLength === 0) return Buffer.from('null');
  return Buffer.from(result.result.buffer, result.result.byteOffset, result.result.byteLength);
}

function asArray(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Error types come from user code; keep them fit for a header. */
function headerSafe(value: string): string {
  const cleaned = value.replace(/[^\x20-\x7e]/g, '?').slice(0, 128);
  return cleaned || 'Error';
}
