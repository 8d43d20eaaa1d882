/** NATS and cron triggers: stored by stubs, run by the queue-worker. */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { JSON_TYPE } from '../http-errors.js';
import { readJsonBody } from '../json-body.js';
import type { HttpTriggerDeps } from '../server.js';
import { triggerFromRequest, triggerToJson } from '../trigger-json.js';

type Params = { name: string };

export function triggerRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const { stubs } = deps;
  const rpc = <K extends 'putTrigger' | 'getTrigger' | 'listTriggers' | 'deleteTrigger'>(name: K) => {
    const method = stubs[name];
    if (!method) throw new PlatformError('service_unavailable', 'triggers are not available');
    return method.bind(stubs) as NonNullable<HttpTriggerDeps['stubs'][K]>;
  };

  app.put<{ Params: Params }>('/v1/triggers/:name', async (request, reply) => {
    const body = await readJsonBody(request, 'trigger');
    const { trigger, created } = await rpc('putTrigger')({ trigger: triggerFromRequest(request.params.name, body) });
    if (!trigger) throw new PlatformError('bad_gateway', 'stubs answered without the trigger');
    return reply.status(created ? 201 : 200).type(JSON_TYPE).send(triggerToJson(trigger));
  });

  app.get<{ Params: Params }>('/v1/triggers/:name', async (request, reply) => {
    const { trigger } = await rpc('getTrigger')({ name: request.params.name });
    if (!trigger) throw new PlatformError('trigger_not_found', `no trigger "${request.params.name}"`);
    return reply.type(JSON_TYPE).send(triggerToJson(trigger));
  });

  app.get('/v1/triggers', async (_request, reply) => {
    const { triggers } = await rpc('listTriggers')({});
    return reply.type(JSON_TYPE).send({ triggers: triggers.map(triggerToJson) });
  });

  app.delete<{ Params: Params }>('/v1/triggers/:name', async (request, reply) => {
    await rpc('deleteTrigger')({ name: request.params.name });
    return reply.status(204).send();
  });
}
