/**
 * GET /metrics (Prometheus, the process's registry) and
 * GET /v1/functions/{name}/history (this edge's last calls of a function).
 */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { assertFunctionName } from '@faas/protocol';
import { PROMETHEUS_CONTENT_TYPE, metrics } from '@faas/telemetry';
import type { HttpTriggerDeps } from '../server.js';

const MAX_HISTORY_LIMIT = 1_000;

export function observabilityRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  app.get('/metrics', async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(await metrics.render()));

  app.get<{ Params: { name: string }; Querystring: { limit?: string } }>('/v1/functions/:name/history', async (request) => {
    assertFunctionName(request.params.name);
    const raw = request.query.limit;
    const limit = raw === undefined ? undefined : Number(raw);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_HISTORY_LIMIT)) {
      throw new PlatformError('bad_request', `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`);
    }
    return { calls: deps.history?.recent(request.params.name, limit) ?? [] };
  });
}
