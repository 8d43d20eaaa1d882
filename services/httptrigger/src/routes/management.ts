/** Code, functions and custom runtimes: the management half of the API, through stubs. */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { limitedChunks } from '../body-reader.js';
import { functionFromRequest, functionToJson } from '../function-json.js';
import { JSON_TYPE } from '../http-errors.js';
import { readJsonBody } from '../json-body.js';
import { runtimeFromRequest, runtimeToJson } from '../runtime-json.js';
import type { HttpTriggerDeps } from '../server.js';

type Params = { name: string };

export function managementRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const { stubs, invoker } = deps;

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
    // The next call through this edge runs the new version: its leases on the old one are stale.
    invoker.functionChanged(saved.name);
    deps.auth?.functionChanged(saved.name);
    deps.knownFunctions.forget(saved.name);
    return reply.status(created ? 201 : 200).type(JSON_TYPE).send(functionToJson(saved));
  });

  app.get<{ Params: Params; Querystring: { qualifier?: string } }>('/v1/functions/:name', async (request, reply) => {
    // ?qualifier= shows a published version (or an alias's version) instead of $LATEST.
    const { function: found } = await stubs.getFunction({ name: request.params.name, qualifier: request.query.qualifier ?? '' });
    if (!found) throw new PlatformError('function_not_found', `no function "${request.params.name}"`);
    return reply.type(JSON_TYPE).send(functionToJson(found));
  });

  app.get('/v1/functions', async (_request, reply) => {
    const { functions } = await stubs.listFunctions({});
    return reply.type(JSON_TYPE).send({ functions: functions.map(functionToJson) });
  });

  app.delete<{ Params: Params }>('/v1/functions/:name', async (request, reply) => {
    await stubs.deleteFunction({ name: request.params.name });
    invoker.functionChanged(request.params.name);
    deps.auth?.functionChanged(request.params.name);
    deps.knownFunctions.forget(request.params.name);
    return reply.status(204).send();
  });

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
}
