/** Triggers, stored by stubs: NATS and cron ones run by the queue-worker, HTTP ones served by this edge. */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { JSON_TYPE } from '../http-errors.js';
import { readJsonBody } from '../json-body.js';
import type { HttpTriggerDeps } from '../server.js';
import { triggerFromRequest, triggerToJson } from '../trigger-json.js';

type Params = { name: string };

export function triggerRoutes(app: FastifyInstance, deps: HttpTriggerDeps, triggersChanged: () => Promise<void> | undefined = () => undefined): void {
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
    // This edge serves a new HTTP trigger from its answer on; others within their refresh interval.
    await triggersChanged();
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
    await triggersChanged();
    return reply.status(204).send();
  });
}
