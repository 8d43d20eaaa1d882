/** How every failure leaves the edge: one error handler, `{code, message}` with the catalogue's status. */
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
    if (failure.code === 'payload_too_large') refuseRestOfBody(request, reply);
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
 * After a 413. A body refused by its declared length is still unread, and
 * its client is still sending it: closing now would reset the connection
 * and the client would see a network error instead of the 413. So it is
 * read and dropped (Node's request timeout bounds a slow sender). A body
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
