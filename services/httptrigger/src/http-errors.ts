/** How every failure leaves the edge: one error handler, `{code, message}` with the catalogue's status. */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError, isPlatformError, type ErrorCode } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import { finishInvocation } from './invocation-timing.js';
import type { RouteTable } from './route-table.js';

export const JSON_TYPE = 'application/json; charset=utf-8';
/** Largest refused body still read (and discarded) to the end, rather than cut off. */
const MAX_DISCARDED_BODY_BYTES = 128 * 1024 * 1024;

/** Serves a request no platform route took (HTTP triggers); false when it does not either. */
export type UnroutedHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>;

export function answerErrors(app: FastifyInstance, routes: RouteTable, logger: Logger, unrouted?: UnroutedHandler): void {
  app.setErrorHandler((error, request, reply) => {
    const failure = toHttpError(error);
    if (failure.code === 'internal') logger.error({ err: error, method: request.method, url: request.url }, 'request failed');
    else logger.debug({ code: failure.code, message: failure.message, url: request.url }, 'request refused');
    // Refused before its body was read (a 413, or auth that refused at once): the rest is dealt with.
    if (failure.code === 'payload_too_large' || !request.raw.complete) refuseRestOfBody(request, reply);
    const retryAfter = retryAfterSeconds(failure);
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    finishInvocation(request, reply, failure.httpStatus, failure.code);
    void reply.status(failure.httpStatus).type(JSON_TYPE).send(failure.toJSON());
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (unrouted && (await unrouted(request, reply))) return reply;
    const path = request.url.split('?', 1)[0]!;
    const allowed = routes.allowedMethods(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      throw new PlatformError('method_not_allowed', `${path} accepts ${allowed.join(', ')}, not ${request.method}`);
    }
    throw new PlatformError('route_not_found', `no route for ${request.method} ${path}`);
  });
}

/**
 * Fastify's clientErrorHandler: Node could not parse the request, so no
 * route or error handler runs. The answer is written to the socket by hand,
 * in the catalogue's shape, and the connection closed (its framing is lost).
 */
export function answerUnparsableRequest(error: Error & { code?: string }, socket: Duplex): void {
  // A response already went out on this connection (bytes after a `Connection: close` answer, say): nothing more is owed.
  const answered = (socket as { _httpMessage?: unknown })._httpMessage != null;
  if (!socket.writable || answered || error.code === 'HPE_CLOSED_CONNECTION') return void socket.destroy();
  const code: ErrorCode = error.code === 'HPE_HEADER_OVERFLOW' ? 'payload_too_large' : 'bad_request';
  const failure = new PlatformError(code, code === 'payload_too_large' ? 'the request headers are too large' : `the request could not be parsed (${error.code ?? 'malformed'})`);
  const body = JSON.stringify(failure.toJSON());
  // An answer to HEAD has no body; the parsed bytes tell whether it was one.
  const packet = (error as { rawPacket?: unknown }).rawPacket;
  const head = Buffer.isBuffer(packet) && packet.subarray(0, 5).toString('latin1') === 'HEAD ';
  socket.end(`HTTP/1.1 ${failure.httpStatus} ${STATUS_CODES[failure.httpStatus]}\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? '' : body}`);
}

/**
 * After a 413, or any refusal that came before the body was read. A body
 * refused by its declared length is still unread, and its client is still
 * sending it: closing now would reset the connection and the client would
 * see a network error instead of the answer. So it is read and dropped (Node's request timeout bounds a slow sender). A body
 * already cut off mid-read, or one too large to be worth reading, ends the
 * connection instead.
 */
function refuseRestOfBody(request: FastifyRequest, reply: FastifyReply): void {
  const declared = Number(request.headers['content-length']);
  if (!request.raw.destroyed && declared <= MAX_DISCARDED_BODY_BYTES) request.raw.resume();
  else reply.header('connection', 'close');
}

/** Anything thrown in a route, as the platform error the client sees. */
export function toHttpError(error: unknown): PlatformError {
  if (isPlatformError(error)) return error;
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const code: ErrorCode =
      statusCode === 413 ? 'payload_too_large' : statusCode === 415 ? 'unsupported_media_type' : statusCode === 404 ? 'route_not_found' : 'bad_request';
    return new PlatformError(code, message);
  }
  // A client that went away mid-body is not a platform failure worth alarm.
  if ((error as { code?: unknown }).code === 'ECONNRESET' || message === 'aborted') return new PlatformError('bad_request', 'the request was cut off');
  return new PlatformError('internal', message, { cause: error });
}

/** Whole seconds for Retry-After: the failure's own hint, else one second for a limit reached. */
function retryAfterSeconds(failure: PlatformError): number | undefined {
  if (failure.retryAfterMs !== undefined) return Math.max(1, Math.ceil(failure.retryAfterMs / 1000));
  return failure.code === 'too_many_requests' ? 1 : undefined;
}
