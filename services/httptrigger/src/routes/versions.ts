/**
 * Published versions and aliases of a function, through stubs:
 * `/v1/functions/{name}/versions[/{version}]` and
 * `/v1/functions/{name}/aliases[/{alias}]`. Calls reach them as
 * `name:version`, `name:alias` or `?qualifier=` on every invoke route.
 */
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';
import { parseQualifier } from '@faas/protocol';
import { aliasFromRequest, aliasToJson } from '../alias-json.js';
import { functionToJson } from '../function-json.js';
import { JSON_TYPE } from '../http-errors.js';
import type { HttpTriggerDeps } from '../server.js';
import { readJsonBody } from './management.js';

type FunctionParams = { name: string };
type VersionParams = { name: string; version: string };
type AliasParams = { name: string; alias: string };

/** The path's version: a published version's number (not $LATEST, which is not a version one can delete). */
function versionOf(text: string): number {
  const qualifier = parseQualifier(text);
  if (qualifier.kind !== 'version') throw new PlatformError('invalid_qualifier', `${JSON.stringify(text.slice(0, 80))} is not a published version's number`);
  return qualifier.version;
}

export function versionRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const { stubs, invoker } = deps;

  app.post<{ Params: FunctionParams }>('/v1/functions/:name/versions', async (request, reply) => {
    const { function: published, created } = await stubs.publishVersion({ name: request.params.name });
    if (!published) throw new PlatformError('bad_gateway', 'stubs answered without the version');
    return reply.status(created ? 201 : 200).type(JSON_TYPE).send(functionToJson(published));
  });

  app.get<{ Params: FunctionParams }>('/v1/functions/:name/versions', async (request, reply) => {
    const { versions } = await stubs.listVersions({ name: request.params.name });
    return reply.type(JSON_TYPE).send({ versions: versions.map(functionToJson) });
  });

  app.get<{ Params: VersionParams }>('/v1/functions/:name/versions/:version', async (request, reply) => {
    const { function: found } = await stubs.getFunction({ name: request.params.name, qualifier: String(versionOf(request.params.version)) });
    if (!found) throw new PlatformError('bad_gateway', 'stubs answered without the version');
    return reply.type(JSON_TYPE).send(functionToJson(found));
  });

  app.delete<{ Params: VersionParams }>('/v1/functions/:name/versions/:version', async (request, reply) => {
    const version = versionOf(request.params.version);
    await stubs.deleteVersion({ name: request.params.name, version });
    invoker.functionChanged(`${request.params.name}:${version}`);
    return reply.status(204).send();
  });

  app.put<{ Params: AliasParams }>('/v1/functions/:name/aliases/:alias', async (request, reply) => {
    const alias = aliasFromRequest(request.params.alias, await readJsonBody(request, 'alias'));
    const { alias: saved, created } = await stubs.putAlias({ functionName: request.params.name, alias });
    if (!saved) throw new PlatformError('bad_gateway', 'stubs answered without the alias');
    return reply.status(created ? 201 : 200).type(JSON_TYPE).send(aliasToJson(saved));
  });

  app.get<{ Params: FunctionParams }>('/v1/functions/:name/aliases', async (request, reply) => {
    const { aliases } = await stubs.listAliases({ functionName: request.params.name });
    return reply.type(JSON_TYPE).send({ aliases: aliases.map(aliasToJson) });
  });

  app.get<{ Params: AliasParams }>('/v1/functions/:name/aliases/:alias', async (request, reply) => {
    const { alias } = await stubs.getAlias({ functionName: request.params.name, name: request.params.alias });
    if (!alias) throw new PlatformError('bad_gateway', 'stubs answered without the alias');
    return reply.type(JSON_TYPE).send(aliasToJson(alias));
  });

  app.delete<{ Params: AliasParams }>('/v1/functions/:name/aliases/:alias', async (request, reply) => {
    await stubs.deleteAlias({ functionName: request.params.name, name: request.params.alias });
    return reply.status(204).send();
  });
}
