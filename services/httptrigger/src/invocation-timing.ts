/**
 * X-Call-Id and X-Duration-Seconds on every answer to an invocation, errors
 * included, and the answer counted (metrics, history). Done by whoever sends
 * the answer (a route, or the error handler) rather than by an onSend hook
 * that every request would pay for.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InvocationResult } from '@faas/protocol';
import { gatewayInvocations, gatewaySeconds, invocationColdStarts, invocationSeconds, invocations } from './edge-metrics.js';
import type { CallStats } from './call-stats.js';
import type { InvocationHistory } from './invocation-history.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** When the invocation began (performance.now()); 0 for other requests. */
    invocationStartedMs: number;
    invocationCallId: string;
    /** The route kind label: event, http, or what the route said; queued calls are `async` whatever their route. */
    invocationKind: string;
    /** What the sandbox answered, when it did: cold start and sandbox for the history. */
    invocationResult: InvocationResult | undefined;
  }
  interface FastifyInstance {
    invocationHistory: InvocationHistory | undefined;
    callStats: CallStats | undefined;
  }
}

export function timeInvocations(app: FastifyInstance, history?: InvocationHistory, stats?: CallStats): void {
  app.decorateRequest('invocationStartedMs', 0);
  app.decorateRequest('invocationCallId', '');
  app.decorateRequest('invocationKind', '');
  app.decorateRequest('invocationResult', undefined);
  app.decorate('invocationHistory', history);
  app.decorate('callStats', stats);
}

/** `kind` labels the call in metrics and history (event, http; routes of other shapes name theirs). */
export function startInvocation(request: FastifyRequest, reply: FastifyReply, callId: string, kind = 'other'): void {
  request.invocationStartedMs = performance.now();
  request.invocationCallId = callId;
  request.invocationKind = kind;
  reply.header('x-call-id', callId);
}

/** Keeps what the sandbox answered, for finishInvocation. */
export function noteResult(request: FastifyRequest, result: InvocationResult): void {
  request.invocationResult = result;
}

/** A sandbox's answer as an outcome label: the handler's error, or ok (what noteResult kept). */
export function answeredOutcome(request: FastifyRequest): 'ok' | 'function_error' {
  return request.invocationResult?.functionError ? 'function_error' : 'ok';
}

/**
 * Call just before sending an invocation's answer (nothing happens for
 * other requests): sets X-Duration-Seconds and counts the answer.
 * `outcome` is ok, function_error, queued, or a platform error code.
 * `functionName` is for routes whose path does not name the function in a
 * `name` parameter (HTTP triggers, Lambda's ARNs and qualifiers).
 */
export function finishInvocation(request: FastifyRequest, reply: FastifyReply, status: number, outcome: string, functionName?: string): void {
  if (request.invocationStartedMs === 0) return;
  const seconds = (performance.now() - request.invocationStartedMs) / 1000;
  reply.header('x-duration-seconds', seconds.toFixed(6));
  // A name that is no function's (or no name at all) would make a series per
  // string a client sends: those calls are counted under the empty name.
  const name = outcome === 'function_not_found' || outcome === 'bad_request' ? '' : (functionName ?? (request.params as { name?: string } | undefined)?.name ?? '');
  const kind = outcome === 'queued' ? 'async' : request.invocationKind;
  invocations.get(name, kind, outcome).inc();
  invocationSeconds.get(name, kind, outcome).observe(seconds);
  const code = String(status);
  gatewayInvocations.get(name, code).inc();
  gatewaySeconds.get(name, code).observe(seconds);
  const result = request.invocationResult;
  if (result?.coldStart) invocationColdStarts.get(name).inc();
  const nowMs = Date.now();
  const coldStart = result?.coldStart ?? false;
  if (name === '') return;
  request.server.invocationHistory?.record(name, request.invocationCallId, nowMs - seconds * 1000, seconds * 1000, kind, outcome, status, coldStart, result?.sandboxId ?? '');
  // Queued calls are counted where they run (their records: GET /v1/calls).
  if (outcome !== 'queued') request.server.callStats?.record(name, seconds * 1000, outcome !== 'ok', coldStart, nowMs);
}
