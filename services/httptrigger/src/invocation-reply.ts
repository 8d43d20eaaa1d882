import type { FunctionError, InvocationResult } from '@faas/protocol';
import { FunctionErrorType, PlatformError } from '@faas/errors';

/** An HTTP answer, independent of the server library. */
export interface HttpReply {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Uint8Array | string;
}

/** The body as Fastify sends it without copying: a string or a Buffer over the same bytes. */
export function replyBody(answer: HttpReply): string | Buffer {
  const { body } = answer;
  return typeof body === 'string' || Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

export const FUNCTION_ERROR_HEADER = 'x-function-error';
const JSON_TYPE = 'application/json; charset=utf-8';
const NULL_BODY = Buffer.from('null');

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
 * An event invocation's answer (Lambda style): 200 with the result bytes as
 * they came, or 200 with `X-Function-Error` and the error when the function
 * failed: the call itself worked. The stack is the caller's own code, so it
 * is included.
 */
export function eventReply(result: InvocationResult): HttpReply {
  if (result.functionError) {
    return {
      status: 200,
      headers: { 'content-type': JSON_TYPE, [FUNCTION_ERROR_HEADER]: headerSafe(result.functionError.type || 'Error') },
      body: JSON.stringify(functionErrorBody(result.functionError, true)),
    };
  }
  return { status: 200, headers: { 'content-type': JSON_TYPE }, body: result.result.byteLength === 0 ? NULL_BODY : result.result };
}

/**
 * An HTTP invocation's answer: the status, headers and body the funclet
 * checked, sent as they are. Function errors are 500 (504 on timeout)
 * without a stack: these routes face the function's own users.
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
  const response = result.httpResponse;
  if (!response) throw new PlatformError('bad_gateway', 'the funclet answered an HTTP invocation without an HTTP response');
  const headers: Record<string, string | string[]> = {};
  for (const { name, value } of response.headers) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = value;
  }
  return { status: response.status, headers, body: response.body };
}

/** Error types come from user code; keep them fit for a header. */
function headerSafe(value: string): string {
  const cleaned = value.replace(/[^\x20-\x7e]/g, '?').slice(0, 128);
  return cleaned || 'Error';
}
