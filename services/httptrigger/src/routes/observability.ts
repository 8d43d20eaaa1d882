/**
 * GET /metrics (Prometheus, the process's registry), and what this edge
 * knows of a function: its last calls (history), its last hour a minute at a
 * time (stats), the sandboxes it holds leases on (sandboxes).
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

  app.get<{ Params: { name: string } }>('/v1/functions/:name/stats', async (request) => {
    assertFunctionName(request.params.name);
    return { bucketSeconds: 60, points: deps.callStats?.lastHour(request.params.name) ?? [] };
  });

  app.get<{ Params: { name: string } }>('/v1/functions/:name/sandboxes', async (request) => {
    assertFunctionName(request.params.name);
    const sandboxes = deps.leasedSandboxes?.(request.params.name) ?? [];
    return { sandboxes: sandboxes.map((sandbox) => ({ ...sandbox, state: sandbox.inFlight > 0 ? 'busy' : 'idle' })) };
  });
}
