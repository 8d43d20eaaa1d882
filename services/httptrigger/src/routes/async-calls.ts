/**
 * What became of asynchronous calls: one call, recent calls, the dead
 * letters and their replay. Everything is the queue-worker's (gRPC).
 */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { CALL_ID, CallStatus } from '@faas/protocol';
import { CALL_STATUS_NAMES, callStatusFromName, callToJson, deadLetterToJson } from '../call-json.js';
import { JSON_TYPE } from '../http-errors.js';
import type { HttpTriggerDeps } from '../server.js';

type ListQuery = { function?: string; status?: string; limit?: string };

export function asyncCallRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const { queueWorker } = deps;
  const rpc = <K extends 'listCalls' | 'listDeadLetters' | 'replayDeadLetter'>(name: K) => {
    const method = queueWorker[name];
    if (!method) throw new PlatformError('service_unavailable', 'this queue-worker does not answer that');
    return method.bind(queueWorker) as NonNullable<HttpTriggerDeps['queueWorker'][K]>;
  };

  app.get<{ Params: { callId: string } }>('/v1/calls/:callId', async (request, reply) => {
    const callId = checkedCallId(request.params.callId);
    const { call } = await queueWorker.getCall({ callId });
    if (!call) throw new PlatformError('call_not_found', `no call "${callId}"`);
    return reply.type(JSON_TYPE).send(callToJson(call));
  });

  app.get<{ Querystring: ListQuery }>('/v1/calls', async (request, reply) => {
    const status = request.query.status ? callStatusFromName(request.query.status) : CallStatus.UNSPECIFIED;
    if (status === undefined) throw new PlatformError('bad_request', `status must be one of ${CALL_STATUS_NAMES.join(', ')}`);
    const { calls } = await rpc('listCalls')({ functionName: request.query.function ?? '', status, limit: limitOf(request.query.limit) });
    return reply.type(JSON_TYPE).send({ calls: calls.map(callToJson) });
  });

  app.get<{ Querystring: ListQuery }>('/v1/dead-letters', async (request, reply) => {
    const { deadLetters } = await rpc('listDeadLetters')({ functionName: request.query.function ?? '', limit: limitOf(request.query.limit) });
    return reply.type(JSON_TYPE).send({ deadLetters: deadLetters.map(deadLetterToJson) });
  });

  app.post<{ Params: { callId: string } }>('/v1/dead-letters/:callId/replay', async (request, reply) => {
    const { call } = await rpc('replayDeadLetter')({ callId: checkedCallId(request.params.callId) });
    if (!call) throw new PlatformError('bad_gateway', 'queue-worker answered without the call');
    return reply.status(202).type(JSON_TYPE).send(callToJson(call));
  });
}

function checkedCallId(callId: string): string {
  if (!CALL_ID.test(callId)) throw new PlatformError('bad_request', 'a call id matches ^[A-Za-z0-9_.:-]{1,128}$');
  return callId;
}

/** `?limit=`: 1 to 1000, default 100. */
function limitOf(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1_000) throw new PlatformError('bad_request', 'limit must be an integer from 1 to 1000');
  return value;
}
