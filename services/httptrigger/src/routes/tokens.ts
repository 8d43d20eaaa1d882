/** API tokens (admin scope, see auth/route-guards.ts): create, list, revoke; kept by stubs. */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import type { ApiToken } from '@faas/protocol';
import { JSON_TYPE } from '../http-errors.js';
import { readJsonBody } from '../json-body.js';
import type { HttpTriggerDeps } from '../server.js';

function tokenToJson(token: ApiToken) {
  return { id: token.id, name: token.name, scopes: token.scopes, createdAt: new Date(Number(token.createdAtMs)).toISOString() };
}

export function tokenRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const tokens = () => {
    if (!deps.tokens) throw new PlatformError('service_unavailable', 'API tokens are not available');
    return deps.tokens;
  };

  app.post('/v1/tokens', async (request, reply) => {
    const body = await readJsonBody(request, 'token');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PlatformError('bad_request', 'the body must be a JSON object like {"name": "ci", "scopes": ["deploy"]}');
    const { name, scopes, ...rest } = body as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw new PlatformError('bad_request', `unknown field ${JSON.stringify(unknown.slice(0, 80))}`);
    if (typeof name !== 'string') throw new PlatformError('bad_request', 'field "name" must be a string');
    if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) throw new PlatformError('bad_request', 'field "scopes" must be a list of strings');
    const created = await tokens().createToken({ name, scopes });
    if (!created.token) throw new PlatformError('bad_gateway', 'stubs answered without the token');
    return reply.status(201).type(JSON_TYPE).send({ ...tokenToJson(created.token), token: created.text });
  });

  app.get('/v1/tokens', async (_request, reply) => {
    const { tokens: list } = await tokens().listTokens({});
    return reply.type(JSON_TYPE).send({ tokens: list.map(tokenToJson) });
  });

  app.delete<{ Params: { id: string } }>('/v1/tokens/:id', async (request, reply) => {
    await tokens().revokeToken({ id: request.params.id });
    deps.auth?.tokenRevoked(request.params.id);
    return reply.status(204).send();
  });
}
