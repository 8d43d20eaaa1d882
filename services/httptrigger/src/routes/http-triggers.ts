/**
 * Requests for HTTP triggers: the bound function gets the HTTP-shaped event
 * (the whole path, its parameters) and shapes the answer; bodies travel as
 * bytes both ways. CORS, when the trigger configures it, is answered here:
 * preflights without calling the function, and the headers on every answer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpCors } from '@faas/protocol';
import { readBody } from '../body-reader.js';
import type { HttpTriggerTable } from '../http-trigger-table.js';
import { httpInvocation, resolveCallId } from '../invocation-request.js';
import { httpReply, replyBody } from '../invocation-reply.js';
import { answeredOutcome, finishInvocation, noteResult, startInvocation } from '../invocation-timing.js';
import { traceOf } from '../request-spans.js';
import type { HttpTriggerDeps } from '../server.js';

/** The Host header's name, lower case, without its port. */
function hostOf(request: FastifyRequest): string {
  const host = String(request.headers.host ?? '');
  return (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!).toLowerCase();
}

/** The CORS headers for a request from `origin`, or none when the origin is not allowed. */
function corsHeaders(cors: HttpCors, origin: string | undefined): Record<string, string> {
  if (!origin) return {};
  const any = cors.allowOrigins.includes('*');
  if (!any && !cors.allowOrigins.includes(origin)) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': any && !cors.allowCredentials ? '*' : origin, vary: 'Origin' };
  if (cors.allowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (cors.exposeHeaders.length > 0) headers['access-control-expose-headers'] = cors.exposeHeaders.join(', ');
  return headers;
}

/** Serves the request when an HTTP trigger claims it; false when none does. */
export function httpTriggerHandler(deps: HttpTriggerDeps, table: HttpTriggerTable) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    const rawUrl = request.raw.url ?? request.url;
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const host = hostOf(request);
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;
    const preflightMethod = request.method === 'OPTIONS' ? request.headers['access-control-request-method'] : undefined;

    // A preflight asks about the method to come: the trigger serving that method answers it, unless one serves OPTIONS itself.
    const direct = table.match(request.method, host, path);
    const preflightFor = typeof preflightMethod === 'string' && origin && !(direct?.trigger.methods.includes('OPTIONS')) ? table.match(preflightMethod.toUpperCase(), host, path) : undefined;
    if (preflightFor?.trigger.cors) {
      const cors = preflightFor.trigger.cors;
      const headers = corsHeaders(cors, origin);
      if (headers['access-control-allow-origin']) {
        headers['access-control-allow-methods'] = (cors.allowMethods.length > 0 ? cors.allowMethods : preflightFor.trigger.methods.length > 0 ? preflightFor.trigger.methods : ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).join(', ');
        const asked = request.headers['access-control-request-headers'];
        if (cors.allowHeaders.length > 0) headers['access-control-allow-headers'] = cors.allowHeaders.join(', ');
        else if (typeof asked === 'string') headers['access-control-allow-headers'] = asked;
        if (cors.maxAgeSeconds > 0) headers['access-control-max-age'] = String(cors.maxAgeSeconds);
      }
      await reply.status(204).headers(headers).send();
      return true;
    }
    if (!direct) return false;

    const callId = resolveCallId(request.headers['x-call-id']);
    startInvocation(request, reply, callId, 'trigger');
    const payload = await readBody(request.raw, deps.maxPayloadBytes);
    const invocation = httpInvocation({
      functionName: direct.trigger.functionName,
      callId,
      method: request.method,
      rawUrl,
      headers: request.headers,
      payload,
      path,
      pathParameters: direct.params,
    });
    const result = await deps.invoker.invoke(invocation, { trace: traceOf(request) });
    noteResult(request, result);
    const answer = httpReply(result);
    if (direct.trigger.cors) reply.headers(corsHeaders(direct.trigger.cors, origin));
    finishInvocation(request, reply, answer.status, answeredOutcome(request), direct.trigger.functionName);
    await reply.status(answer.status).headers(answer.headers).send(replyBody(answer));
    return true;
  };
}
