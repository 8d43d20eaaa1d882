import { PlatformError } from '@faas/errors';
import type { MessageInitShape, RuntimeConfig, RuntimeConfigSchema } from '@faas/protocol';

/** A custom runtime as the REST API shows it. */
export interface RuntimeJson {
  readonly name: string;
  readonly description: string;
  readonly code: { readonly digest: string };
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
}

const FIELDS = new Set(['name', 'description', 'code', 'createdAt', 'updatedAt']);

export function runtimeToJson(runtime: RuntimeConfig): RuntimeJson {
  return {
    name: runtime.name,
    description: runtime.description,
    code: { digest: runtime.codeDigest },
    createdAt: runtime.createdAtMs > 0n ? new Date(Number(runtime.createdAtMs)).toISOString() : null,
    updatedAt: runtime.updatedAtMs > 0n ? new Date(Number(runtime.updatedAtMs)).toISOString() : null,
  };
}

/** `{code: {digest}, description?}`: the shape only; stubs judges names and digests. */
export function runtimeFromRequest(name: string, body: unknown): MessageInitShape<typeof RuntimeConfigSchema> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  const fields = body as Record<string, unknown>;
  for (const field of Object.keys(fields)) if (!FIELDS.has(field)) throw badRequest(`unknown field "${field}"`);
  if (fields.name !== undefined && fields.name !== name) throw badRequest(`field "name" (${JSON.stringify(fields.name)}) differs from the path (${name})`);
  const code = fields.code as Record<string, unknown> | undefined;
  if (typeof code !== 'object' || code === null || typeof code.digest !== 'string' || code.digest === '') {
    throw badRequest('field "code" must be an object like {"digest": "sha256:..."}');
  }
  if (fields.description !== undefined && typeof fields.description !== 'string') throw badRequest('field "description" must be a string');
  return { name, codeDigest: code.digest, description: (fields.description as string | undefined) ?? '' };
}

function badRequest(message: string): PlatformError {
  return new PlatformError('bad_request', message);
}
