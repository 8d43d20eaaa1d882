import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { PlatformError, isPlatformError, type ErrorCode } from '@faas/errors';
import { CALL_ID, assertFunctionName, type Invocation, type InvocationResult } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import type { InvocationPublisher } from './async-publisher.js';
import { limitedChunks, readBody } from './body-reader.js';
import { callToJson } from './call-json.js';
import type { Clients } from './clients.js';
import { functionFromRequest, functionToJson } from './function-json.js';
import {
  callbackUrlFrom,
  eventInvocation,
  httpInvocation,
  isAsyncInvocationType,
  resolveCallId,
} from './invocation-request.js';
import { eventReply, httpReply, type HttpReply } from './invocation-reply.js';
import { allowedMethods } from './route-methods.js';
import { parseFollow, parseTail, type LogReader } from './log-reader.js';
import { runtimeFromRequest, runtimeToJson } from './runtime-json.js';

export interface HttpTriggerDeps {
  readonly stubs: Pick<Clients['stubs'], 'putCode' | 'putFunction' | 'getFunction' | 'listFunctions' | 'deleteFunction'> &
    Partial<Pick<Clients['stubs'], 'putRuntime' | 'getRuntime' | 'listRuntimes'>>;
  readonly controller: Pick<Clients['controller'], 'invoke'>;
  readonly queueWorker: Pick<Clients['queueWorker'], 'getCall'>;
  readonly publisher: Pick<InvocationPublisher, 'connected' | 'publish'>;
  /** Function logs (GET /v1/functions/{name}/logs); absent → 503 there. */
  readonly logs?: LogReader;
  readonly maxCodeBytes: number;
  readonly maxPayloadBytes: number;
  readonly logger: Logger;
}

/** Function configs are small; this only stops abuse of the JSON route. */
const MAX_FUNCTION_JSON_BYTES = 1024 * 1024;
const JSON_TYPE = 'application/json; charset=utf-8';
const NDJSON_TYPE = 'application/x-ndjson; charset=utf-8';
/** Lambda's header pair: ask with `X-Log-Type: Tail`, get the call's last 4 KiB of output base64-encoded. */
const LOG_TYPE_HEADER = 'x-log-type';
const LOG_RESULT_HEADER = 'x-log-result';

type Params = { name: string };

/**
 * The HTTP edge: translates requests to gRPC calls and results back. Every
 * platform error leaves through one error handler as {code, message}.
 */
export function buildServer(deps: HttpTriggerDeps): FastifyInstance {
  const { stubs, controller, queueWorker, publisher, logger } = deps;
  const app = Fastify({
    logger: false,
    // Call ids may be 128 characters.
    routerOptions: { maxParamLength: 256 },
    // Invocations can take up to a function's timeout (900 s).
    requestTimeout: 0,
    return503OnClosing: true,
  });

  // Bodies are read by each route, as raw bytes, against its own limit
  // (and streamed, for code): no route wants Fastify's parsing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // Fastify refuses a malformed Content-Type (415) before any route runs, but
  // a function's own callers may send anything: hide the header from
  // Fastify's check and put it back for the handler.
  const contentTypes = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (request) => {
    const contentType = request.raw.headers['content-type'];
    if (contentType === undefined) return;
    contentTypes.set(request, contentType);
    delete request.raw.headers['content-type'];
  });
  app.addHook('preHandler', async (request) => {
    const contentType = contentTypes.get(request);
    if (contentType !== undefined) request.raw.headers['content-type'] = contentType;
  });

  // X-Duration-Seconds on every answer to an invocation, errors included.
  const invocationStarts = new WeakMap<FastifyRequest, number>();
  const startInvocation = (request: FastifyRequest, reply: FastifyReply, callId: string) => {
    invocationStarts.set(request, performance.now());
    reply.header('x-call-id', callId);
  };
  app.addHook('onSend', async (request, reply) => {
    const started = invocationStarts.get(request);
    if (started !== undefined) reply.header('x-duration-seconds', ((performance.now() - started) / 1000).toFixed(6));
  });

  app.setErrorHandler((error, request, reply) => {
    const failure = toHttpError(error);
    if (failure.code === 'internal') logger.error({ err: error, method: request.method, url: request.url }, 'request failed');
    else logger.debug({ code: failure.code, message: failure.message, url: request.url }, 'request refused');
    if (failure.code === 'payload_too_large') refuseRestOfBody(request, reply);
    void reply.status(failure.httpStatus).type(JSON_TYPE).send(failure.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    const allowed = allowedMethods(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      throw new PlatformError('method_not_allowed', `${path} accepts ${allowed.join(', ')}, not ${request.method}`);
    }
    throw new PlatformError('route_not_found', `no route for ${request.method} ${path}`);
  });

  const cancelOnDisconnect = (reply: FastifyReply): AbortSignal => {
    const controllerSignal = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controllerSignal.abort();
    });
    return controllerSignal.signal;
  };

  const send = (reply: FastifyReply, answer: HttpReply) => reply.status(answer.status).headers(answer.headers).send(answer.body);

  const wantsLogTail = (request: FastifyRequest) => String(request.headers[LOG_TYPE_HEADER] ?? '').toLowerCase() === 'tail';
  const withLogTail = (reply: FastifyReply, invocation: Invocation, result: InvocationResult) => {
    if (invocation.wantLogTail) reply.header(LOG_RESULT_HEADER, Buffer.from(result.logTail).toString('base64'));
  };

  /** Queues an invocation; the function must exist, or the caller would only learn it later. */
  const enqueue = async (request: FastifyRequest, reply: FastifyReply, invocation: Invocation) => {
    const callbackUrl = callbackUrlFrom(request.headers['x-callback-url']);
    await stubs.getFunction({ name: invocation.functionName });
    await publisher.publish(invocation, { callbackUrl });
    return reply.status(202).type(JSON_TYPE).send({ callId: invocation.callId });
  };

  app.get('/healthz', async () => ({ status: 'ok', nats: publisher.connected ? 'connected' : 'disconnected' }));

  // ---- management -------------------------------------------------------

  app.post('/v1/code', async (request, reply) => {
    const stored = await stubs.putCode(
      (async function* () {
        for await (const chunk of limitedChunks(request.raw, deps.maxCodeBytes)) yield { chunk };
      })(),
    );
    return reply
      .status(stored.created ? 201 : 200)
      .type(JSON_TYPE)
      .send({ digest: stored.digest, size: Number(stored.size) });
  });

  app.put<{ Params: Params }>('/v1/functions/:name', async (request, reply) => {
    const body = await readJsonBody(request, 'function');
    const { function: saved, created } = await stubs.putFunction({ function: functionFromRequest(request.params.name, body) });
    if (!saved) throw new PlatformError('bad_gateway', 'stubs answered without the function');
    return reply.status(created ? 201 : 200).type(JSON_TYPE).send(functionToJson(saved));
  });

  app.get<{ Params: Params }>('/v1/functions/:name', async (request, reply) => {
    const { function: found } = await stubs.getFunction({ name: request.params.name });
    if (!found) throw new PlatformError('function_not_found', `no function "${request.params.name}"`);
    return reply.type(JSON_TYPE).send(functionToJson(found));
  });

  app.get('/v1/functions', async (_request, reply) => {
    const { functions } = await stubs.listFunctions({});
    return reply.type(JSON_TYPE).send({ functions: functions.map(functionToJson) });
  });

  app.delete<{ Params: Params }>('/v1/functions/:name', async (request, reply) => {
    await stubs.deleteFunction({ name: request.params.name });
    return reply.status(204).send();
  });

  // ---- custom runtimes ---------------------------------------------------

  const runtimeRpc = <K extends 'putRuntime' | 'getRuntime' | 'listRuntimes'>(name: K) => {
    const method = stubs[name];
    if (!method) throw new PlatformError('service_unavailable', 'custom runtimes are not available');
    return method.bind(stubs) as NonNullable<HttpTriggerDeps['stubs'][K]>;
  };

  app.put<{ Params: Params }>('/v1/runtimes/:name', async (request, reply) => {
    const body = await readJsonBody(request, 'runtime');
    const { runtime, created } = await runtimeRpc('putRuntime')({ runtime: runtimeFromRequest(request.params.name, body) });
    if (!runtime) throw new PlatformError('bad_gateway', 'stubs answered without the runtime');
    return reply.status(created ? 201 : 200).type(JSON_TYPE).send(runtimeToJson(runtime));
  });

  app.get<{ Params: Params }>('/v1/runtimes/:name', async (request, reply) => {
    const { runtime } = await runtimeRpc('getRuntime')({ name: request.params.name });
    if (!runtime) throw new PlatformError('runtime_not_found', `no runtime "${request.params.name}"`);
    return reply.type(JSON_TYPE).send(runtimeToJson(runtime));
  });

  app.get('/v1/runtimes', async (_request, reply) => {
    const { runtimes } = await runtimeRpc('listRuntimes')({});
    return reply.type(JSON_TYPE).send({ runtimes: runtimes.map(runtimeToJson) });
  });

  // ---- function logs ----------------------------------------------------

  // A followed log never ends by itself: shutdown ends them rather than waiting.
  const openLogStreams = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const stream of openLogStreams) stream.abort();
  });

  // NDJSON, one line object per line, oldest first; with follow=true the
  // response stays open and new lines follow until the client disconnects.
  app.get<{ Params: Params; Querystring: { tail?: string; follow?: string } }>('/v1/functions/:name/logs', async (request, reply) => {
    assertFunctionName(request.params.name);
    const tail = parseTail(request.query.tail);
    const follow = parseFollow(request.query.follow);
    if (!deps.logs) throw new PlatformError('service_unavailable', 'function logs are not available');
    const stopped = new AbortController();
    reply.raw.once('close', () => stopped.abort());
    openLogStreams.add(stopped);
    stopped.signal.addEventListener('abort', () => openLogStreams.delete(stopped), { once: true });
    // Opening reaches NATS: failures there still get a proper error answer.
    const lines = await deps.logs.open(request.params.name, { tail, follow, signal: stopped.signal });
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

  app.get<{ Params: { callId: string } }>('/v1/calls/:callId', async (request, reply) => {
    const { callId } = request.params;
    if (!CALL_ID.test(callId)) throw new PlatformError('bad_request', 'a call id matches ^[A-Za-z0-9_.:-]{1,128}$');
    const { call } = await queueWorker.getCall({ callId });
    if (!call) throw new PlatformError('call_not_found', `no call "${callId}"`);
    return reply.type(JSON_TYPE).send(callToJson(call));
  });

  // ---- invocations ------------------------------------------------------

  app.post<{ Params: Params }>('/v1/functions/:name/invocations', async (request, reply) => {
    const callId = resolveCallId(request.headers['x-call-id']);
    startInvocation(request, reply, callId);
    const functionName = request.params.name;
    assertFunctionName(functionName);
    const runAsync = isAsyncInvocationType(request.headers['x-invocation-type']);
    const payload = await readBody(request.raw, deps.maxPayloadBytes);
    const invocation = eventInvocation({ functionName, callId, payload, contentType: request.headers['content-type'] ?? '' });
    if (runAsync) return enqueue(request, reply, invocation);
    invocation.wantLogTail = wantsLogTail(request);
    const { result } = await controller.invoke({ invocation }, { signal: cancelOnDisconnect(reply) });
    if (!result) throw new PlatformError('bad_gateway', 'the controller answered without a result');
    withLogTail(reply, invocation, result);
    return send(reply, eventReply(result));
  });

  /** The HTTP request as an HTTP-kind invocation, shared by the sync and async routes. */
  const readHttpInvocation = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const callId = resolveCallId(request.headers['x-call-id']);
    startInvocation(request, reply, callId);
    assertFunctionName(request.params.name);
    const payload = await readBody(request.raw, deps.maxPayloadBytes);
    return httpInvocation({
      functionName: request.params.name,
      callId,
      method: request.method,
      rawUrl: request.raw.url ?? request.url,
      headers: request.headers,
      payload,
    });
  };

  const invokeOverHttp = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const invocation = await readHttpInvocation(request, reply);
    invocation.wantLogTail = wantsLogTail(request);
    const { result } = await controller.invoke({ invocation }, { signal: cancelOnDisconnect(reply) });
    if (!result) throw new PlatformError('bad_gateway', 'the controller answered without a result');
    withLogTail(reply, invocation, result);
    return send(reply, httpReply(result));
  };
  app.all('/function/:name', invokeOverHttp);
  app.all('/function/:name/*', invokeOverHttp);

  const invokeAsyncOverHttp = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) =>
    enqueue(request, reply, await readHttpInvocation(request, reply));
  app.post('/async-function/:name', invokeAsyncOverHttp);
  app.post('/async-function/:name/*', invokeAsyncOverHttp);

  return app;
}

/** Largest refused body still read (and discarded) to the end, rather than cut off. */
const MAX_DISCARDED_BODY_BYTES = 128 * 1024 * 1024;

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

/** A management request's JSON body (a function or runtime definition), parsed or refused with a code. */
async function readJsonBody(request: FastifyRequest, what: 'function' | 'runtime'): Promise<unknown> {
  const contentType = request.headers['content-type'];
  if (contentType !== undefined && !/json/i.test(contentType)) {
    throw new PlatformError('unsupported_media_type', `send the ${what} as application/json`);
  }
  const bytes = await readBody(request.raw, MAX_FUNCTION_JSON_BYTES);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new PlatformError('bad_request', `the body is not valid JSON: ${(error as Error).message}`);
  }
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
