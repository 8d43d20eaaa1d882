/**
 * GET /v1/functions/{name}/logs: NDJSON, one line object per line, oldest
 * first; with follow=true the response stays open and new lines follow
 * until the client disconnects (or the server shuts down).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError } from '@faas/errors';
import { assertFunctionName, type LogLine } from '@faas/protocol';
import { MAX_TAIL_LINES, parseCallIdFilter, parseFollow, parseTail } from '../log-reader.js';
import { NAMESPACE, assertNamespace } from '../openfaas/deployment.js';
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

  /** Streams one function's lines as NDJSON, each shaped by `format`; lines `keep` refuses are skipped. */
  const serve = async (
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    options: { tail: number; follow: boolean; callId?: string; keep?: (line: LogLine) => boolean; format: (line: LogLine) => unknown },
  ) => {
    assertFunctionName(name);
    if (!deps.logs) throw new PlatformError('service_unavailable', 'function logs are not available');
    const stopped = new AbortController();
    reply.raw.once('close', () => stopped.abort());
    openLogStreams.add(stopped);
    stopped.signal.addEventListener('abort', () => openLogStreams.delete(stopped), { once: true });
    // Opening reaches NATS: failures there still get a proper error answer.
    const lines = await deps.logs.open(name, { tail: options.tail, follow: options.follow, signal: stopped.signal, callId: options.callId });
    reply.hijack();
    // Followed streams close their connection when they end (at shutdown too), instead of idling in keep-alive.
    reply.raw.writeHead(200, { 'content-type': NDJSON_TYPE, 'cache-control': 'no-store', ...(options.follow ? { connection: 'close' } : {}) });
    reply.raw.flushHeaders();
    try {
      for await (const line of lines) {
        if (stopped.signal.aborted) break;
        if (options.keep && !options.keep(line)) continue;
        reply.raw.write(`${JSON.stringify(options.format(line))}\n`);
      }
    } catch (error) {
      logger.warn({ err: error, function: name }, 'log stream ended with an error');
    } finally {
      openLogStreams.delete(stopped);
      reply.raw.end();
    }
  };

  app.get<{ Params: Params; Querystring: { tail?: string; follow?: string; callId?: string } }>('/v1/functions/:name/logs', async (request, reply) =>
    serve(request, reply, request.params.name, {
      tail: parseTail(request.query.tail),
      follow: parseFollow(request.query.follow),
      callId: parseCallIdFilter(request.query.callId),
      format: (line) => line,
    }),
  );

  // OpenFaaS's log API (faas-provider's logs.Message), as `faas-cli logs` reads it.
  app.get<{ Querystring: { name?: string; namespace?: string; follow?: string; tail?: string; since?: string } }>('/system/logs', async (request, reply) => {
    const { name, namespace, follow, tail, since } = request.query;
    if (typeof name !== 'string' || name === '') throw new PlatformError('bad_request', 'name must name the function');
    assertNamespace(namespace);
    // faas-cli sends tail=-1 for "all of them": as many as we keep.
    const lines = tail === undefined || Number(tail) <= 0 ? MAX_TAIL_LINES : parseTail(String(Math.min(Number(tail), MAX_TAIL_LINES)));
    const sinceMs = since === undefined || since === '' ? undefined : Date.parse(since);
    if (sinceMs !== undefined && Number.isNaN(sinceMs)) throw new PlatformError('bad_request', 'since must be an RFC 3339 time');
    return serve(request, reply, name, {
      tail: lines,
      follow: parseFollow(follow),
      keep: sinceMs === undefined ? undefined : (line) => Date.parse(line.time) >= sinceMs,
      format: (line) => ({ name, namespace: NAMESPACE, instance: line.sandboxId, timestamp: line.time, text: line.line }),
    });
  });
}
