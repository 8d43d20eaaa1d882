/**
 * Where Fastify's helpfulness gets in a function's way. Bodies are read by
 * each route, as raw bytes against its own limit (and streamed, for code),
 * so no content-type parser runs. And Fastify refuses a malformed
 * Content-Type (415) before any route runs, while a function's own callers
 * may send anything: the header is hidden from that check and put back for
 * the handler.
 */
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The Content-Type header while it is hidden from Fastify's check. */
    hiddenContentType: string | undefined;
  }
}

export function acceptAnyBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  app.decorateRequest('hiddenContentType', undefined);
  // Callback hooks, and the header set to undefined rather than deleted:
  // this runs for every invocation, and `delete` would turn the headers
  // object into a slow dictionary.
  app.addHook('onRequest', (request, _reply, done) => {
    const headers = request.raw.headers;
    if (headers['content-type'] !== undefined) {
      request.hiddenContentType = headers['content-type'];
      headers['content-type'] = undefined;
    }
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.hiddenContentType !== undefined) request.raw.headers['content-type'] = request.hiddenContentType;
    done();
  });
}
