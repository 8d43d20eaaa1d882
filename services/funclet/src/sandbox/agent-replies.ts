/**
 * What an agent's reply frame means for a call: the result, the function's
 * own error, or (for HTTP calls) the checked response.
 */
import type { FunctionErrorInfo } from '@faas/errors';
import type { HttpResponse } from '@faas/protocol';
import { FrameType, type ErrorHeader, type Frame } from '../agent/wire.js';
import { checkHttpHead } from '../http-response-check.js';

export interface ReplyFields {
  readonly result?: Uint8Array;
  readonly httpResponse?: HttpResponse;
  readonly functionError?: FunctionErrorInfo;
}

/** A reply to INVOKE; a bad HTTP head throws the PlatformError the caller gets. */
export function invokeReplyFields(reply: Frame, kind: 'event' | 'http'): ReplyFields {
  switch (reply.type) {
    case FrameType.RESULT: {
      if (kind === 'event') return { result: reply.body };
      const head = checkHttpHead(reply.header);
      return { httpResponse: { $typeName: 'faas.v1.HttpResponse', status: head.status, headers: head.headers, body: reply.body } };
    }
    case FrameType.FUNCTION_ERROR:
      return { functionError: errorInfo(reply.header, 'Error') };
    default:
      return { functionError: errorInfo(reply.header, 'InitError') };
  }
}

/** An ErrorHeader from the sandbox, whatever it holds, as a function error. */
export function errorInfo(header: unknown, fallbackType: string): FunctionErrorInfo {
  const fields = (header ?? {}) as Partial<ErrorHeader>;
  return {
    type: typeof fields.type === 'string' && fields.type ? fields.type : fallbackType,
    message: typeof fields.message === 'string' ? fields.message : '',
    stack: typeof fields.stack === 'string' ? fields.stack : '',
  };
}
