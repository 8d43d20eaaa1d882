/**
 * X-Call-Id and X-Duration-Seconds on every answer to an invocation, errors
 * included. Stamped by whoever sends the answer (a route, or the error
 * handler) rather than by an onSend hook that every request would pay for.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** When the invocation began (performance.now()); 0 for other requests. */
    invocationStartedMs: number;
  }
}

export function timeInvocations(app: FastifyInstance): void {
  app.decorateRequest('invocationStartedMs', 0);
}

export function startInvocation(request: FastifyRequest, reply: FastifyReply, callId: string): void {
  request.invocationStartedMs = performance.now();
  reply.header('x-call-id', callId);
}

/** Sets X-Duration-Seconds when `request` is an invocation; call just before sending its answer. */
export function stampDuration(request: FastifyRequest, reply: FastifyReply): void {
  if (request.invocationStartedMs > 0) reply.header('x-duration-seconds', ((performance.now() - request.invocationStartedMs) / 1000).toFixed(6));
}
