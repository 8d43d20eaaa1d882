/**
 * Where Fastify's helpfulness gets in a function's way. Bodies are read by
 * each route, as raw bytes against its own limit (and streamed, for code),
 * so no content-type parser runs. And Fastify refuses a malformed
 * Content-Type (415) before any route runs, while a function's own callers
 * may send anything: the header is hidden from that check and put back for
 * the handler.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

export function acceptAnyBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const contentTypes = new WeakMap<FastifyRequest, string>();
  // Callback hooks: an async one costs a promise per request on the hot path.
  app.addHook('onRequest', (request, _reply, done) => {
    const contentType = request.raw.headers['content-type'];
    if (contentType !== undefined) {
      contentTypes.set(request, contentType);
      delete request.raw.headers['content-type'];
    }
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    const contentType = contentTypes.get(request);
    if (contentType !== undefined) request.raw.headers['content-type'] = contentType;
    done();
  });
}
