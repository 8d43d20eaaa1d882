/**
 * GET /v1/functions/{name}/logs: NDJSON, one line object per line, oldest
 * first; with follow=true the response stays open and new lines follow
 * until the client disconnects (or the server shuts down).
 */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { assertFunctionName } from '@faas/protocol';
import { parseCallIdFilter, parseFollow, parseTail } from '../log-reader.js';
import type { HttpTriggerDeps } from '../server.js';

const NDJSON_TYPE = 'application/x-ndjson; charset=utf-8';

type Params = { name: string };

export function logRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const { logger } = deps;
  // A followed log never ends by itself: shutdown ends them rather than waiting.
  const openLogStreams = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const stream of openLogStreams) stream.abort();
  });

  app.get<{ Params: Params; Querystring: { tail?: string; follow?: string; callId?: string } }>('/v1/functions/:name/logs', async (request, reply) => {
    assertFunctionName(request.params.name);
    const tail = parseTail(request.query.tail);
    const follow = parseFollow(request.query.follow);
    const callId = parseCallIdFilter(request.query.callId);
    if (!deps.logs) throw new PlatformError('service_unavailable', 'function logs are not available');
    const stopped = new AbortController();
    reply.raw.once('close', () => stopped.abort());
    openLogStreams.add(stopped);
    stopped.signal.addEventListener('abort', () => openLogStreams.delete(stopped), { once: true });
    // Opening reaches NATS: failures there still get a proper error answer.
    const lines = await deps.logs.open(request.params.name, { tail, follow, signal: stopped.signal, callId });
    reply.hijack();
    // Followed streams close their connection when they end (at shutdown too), instead of idling in keep-alive.
    reply.raw.writeHead(200, { 'content-type': NDJSON_TYPE, 'cache-control': 'no-store', ...(follow ? { connection: 'close' } : {}) });
    reply.raw.flushHeaders();
    try {
      for await (const line of lines) {
        if (stopped.signal.aborted) break;
        reply.raw.write(`${JSON.stringify(line)}\n`);
      }
    } catch (error) {
      logger.warn({ err: error, function: request.params.name }, 'log stream ended with an error');
    } finally {
      openLogStreams.delete(stopped);
      reply.raw.end();
    }
  });
}
