/**
 * The invocation routes: events (`/v1/functions/{name}/invocations`,
 * Lambda style), HTTP invocations (`/function/{name}/…`), their queued
 * forms, and the status of queued calls. The hot path of the edge: no
 * parsing of what is only forwarded, callback hooks only.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cancellation } from '@faas/client';
import { qualifiedTarget, type Invocation, type InvocationResult } from '@faas/protocol';
import { readBody } from '../body-reader.js';
import { cloudEventFrom } from '../cloud-events.js';
import { JSON_TYPE } from '../http-errors.js';
import { callbackUrlFrom, eventInvocation, httpInvocation, isAsyncInvocationType, resolveCallId } from '../invocation-request.js';
import { eventReply, httpReply, replyBody, type HttpReply } from '../invocation-reply.js';
import { answeredOutcome, finishInvocation, noteResult, startInvocation, timeInvocations } from '../invocation-timing.js';
import { splitNamespace } from '../openfaas/deployment.js';
import { traceOf } from '../request-spans.js';
import type { HttpTriggerDeps } from '../server.js';

/** Lambda's header pair: ask with `X-Log-Type: Tail`, get the call's last 4 KiB of output base64-encoded. */
const LOG_TYPE_HEADER = 'x-log-type';
const LOG_RESULT_HEADER = 'x-log-result';

type Params = { name: string };
type Query = { qualifier?: string };

/** What a route's call names: the path's `name` or `name:qualifier` (OpenFaaS's `name.namespace` too), or `?qualifier=` (canonical form). */
function targetOf(request: FastifyRequest<{ Params: Params }>): string {
  const { qualifier } = request.query as Query;
  return qualifiedTarget(splitNamespace(request.params.name), typeof qualifier === 'string' ? qualifier : undefined);
}

/** Cancelled when the client goes away before its answer: the call is given up. */
function clientGone(response: ServerResponse): Cancellation {
  return {
    get cancelled() {
      return response.destroyed && !response.writableFinished;
    },
    onCancel(listener) {
      const onClose = () => {
        if (!response.writableFinished) listener();
      };
      response.once('close', onClose);
      return () => response.off('close', onClose);
    },
  };
}

export function invocationRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const { invoker, publisher } = deps;
  // Queued bodies live in the stream until they run: their limit is Lambda's 256 KiB unless configured.
  const maxAsyncPayloadBytes = deps.maxAsyncPayloadBytes ?? deps.maxPayloadBytes;
  const payloadLimit = (runAsync: boolean) => (runAsync ? maxAsyncPayloadBytes : deps.maxPayloadBytes);

  timeInvocations(app, deps.history, deps.callStats);

  const send = (request: FastifyRequest, reply: FastifyReply, answer: HttpReply) => {
    finishInvocation(request, reply, answer.status, answeredOutcome(request));
    return reply.status(answer.status).headers(answer.headers).send(replyBody(answer));
  };

  const invoke = async (request: FastifyRequest, reply: FastifyReply, invocation: Invocation): Promise<InvocationResult> => {
    invocation.wantLogTail = String(request.headers[LOG_TYPE_HEADER] ?? '').toLowerCase() === 'tail';
    const result = await invoker.invoke(invocation, { cancellation: clientGone(reply.raw), trace: traceOf(request) });
    noteResult(request, result);
    // Absent when the call wrote nothing, as Lambda's: an empty header would claim output there was none of.
    if (invocation.wantLogTail && result.logTail.length > 0) reply.header(LOG_RESULT_HEADER, Buffer.from(result.logTail).toString('base64'));
    return result;
  };

  /** Queues an invocation; the function must exist, or the caller would only learn it later. */
  const enqueue = async (request: FastifyRequest, reply: FastifyReply, invocation: Invocation) => {
    const callbackUrl = callbackUrlFrom(request.headers['x-callback-url']);
    await deps.knownFunctions.assertExists(invocation.functionName);
    await publisher.publish(invocation, { callbackUrl, trace: traceOf(request) });
    finishInvocation(request, reply, 202, 'queued');
    return reply.status(202).type(JSON_TYPE).send({ callId: invocation.callId });
  };

  app.post<{ Params: Params }>('/v1/functions/:name/invocations', async (request, reply) => {
    const callId = resolveCallId(request.headers['x-call-id']);
    startInvocation(request, reply, callId, 'event');
    const functionName = targetOf(request);
    const runAsync = isAsyncInvocationType(request.headers['x-invocation-type']);
    const body = await readBody(request.raw, payloadLimit(runAsync));
    const contentType = request.headers['content-type'] ?? '';
    // A CloudEvent's data is the event; its attributes reach the handler's context.
    const event = cloudEventFrom(request.headers, { payload: body, contentType });
    const invocation = eventInvocation({ functionName, callId, payload: event?.payload ?? body, contentType: event?.contentType ?? contentType, cloudEventAttributes: event?.attributes });
    if (runAsync) return enqueue(request, reply, invocation);
    return send(request, reply, eventReply(await invoke(request, reply, invocation)));
  });

  /** The HTTP request as an HTTP-kind invocation, shared by the sync and async routes. */
  const readHttpInvocation = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply, runAsync: boolean) => {
    const callId = resolveCallId(request.headers['x-call-id']);
    startInvocation(request, reply, callId, 'http');
    const functionName = targetOf(request);
    const payload = await readBody(request.raw, payloadLimit(runAsync));
    return httpInvocation({
      functionName,
      callId,
      method: request.method,
      rawUrl: request.raw.url ?? request.url,
      headers: request.headers,
      payload,
    });
  };

  const invokeOverHttp = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const invocation = await readHttpInvocation(request, reply, false);
    return send(request, reply, httpReply(await invoke(request, reply, invocation)));
  };
  app.all('/function/:name', invokeOverHttp);
  app.all('/function/:name/*', invokeOverHttp);

  const invokeAsyncOverHttp = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) =>
    enqueue(request, reply, await readHttpInvocation(request, reply, true));
  app.post('/async-function/:name', invokeAsyncOverHttp);
  app.post('/async-function/:name/*', invokeAsyncOverHttp);
}
