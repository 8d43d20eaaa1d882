/**
 * Secrets on the management API (/v1/secrets), beside OpenFaaS's
 * /system/secrets: names listed, values written, never read back.
 */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { SecretWriteMode } from '@faas/protocol';
import { JSON_TYPE } from '../http-errors.js';
import { readJsonBody } from '../json-body.js';
import type { HttpTriggerDeps } from '../server.js';

type Params = { name: string };

/** Stubs' secret RPCs; absent in an edge wired without them (tests) → 503. */
export function secretRpc<K extends 'putSecret' | 'listSecrets' | 'deleteSecret'>(deps: HttpTriggerDeps, name: K): NonNullable<HttpTriggerDeps['stubs'][K]> {
  const method = deps.stubs[name];
  if (!method) throw new PlatformError('service_unavailable', 'secrets are not available');
  return method.bind(deps.stubs) as NonNullable<HttpTriggerDeps['stubs'][K]>;
}

export function secretRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const rpc = <K extends 'putSecret' | 'listSecrets' | 'deleteSecret'>(name: K) => secretRpc(deps, name);

  app.get('/v1/secrets', async (_request, reply) => {
    const { names } = await rpc('listSecrets')({});
    return reply.type(JSON_TYPE).send({ secrets: names.map((name) => ({ name })) });
  });

  /** `{"value": "text"}` or `{"valueBase64": "…"}`; creates (201) or replaces (200). */
  app.put<{ Params: Params }>('/v1/secrets/:name', async (request, reply) => {
    const body = (await readJsonBody(request, 'secret')) as { value?: unknown; valueBase64?: unknown } | null;
    const value = secretValueOf(body);
    const { created } = await rpc('putSecret')({ name: request.params.name, value, mode: SecretWriteMode.UNSPECIFIED });
    return reply.status(created ? 201 : 200).type(JSON_TYPE).send({ name: request.params.name });
  });

  app.delete<{ Params: Params }>('/v1/secrets/:name', async (request, reply) => {
    await rpc('deleteSecret')({ name: request.params.name });
    return reply.status(204).send();
  });
}

function secretValueOf(body: { value?: unknown; valueBase64?: unknown } | null): Buffer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PlatformError('bad_request', 'send {"value": "…"} or {"valueBase64": "…"}');
  for (const field of Object.keys(body)) if (field !== 'value' && field !== 'valueBase64') throw new PlatformError('bad_request', `unknown field "${field}"`);
  if (typeof body.value === 'string' && body.valueBase64 === undefined) return Buffer.from(body.value);
  if (typeof body.valueBase64 === 'string' && body.value === undefined && /^[A-Za-z0-9+/]*={0,2}$/.test(body.valueBase64)) return Buffer.from(body.valueBase64, 'base64');
  throw new PlatformError('bad_request', 'send either "value" (text) or "valueBase64" (bytes), one of them');
}
