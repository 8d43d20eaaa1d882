/**
 * The AWS Lambda API (2015-03-31) on the edge, as AWS's SDKs call it:
 * functions from inline zip files, configuration, versions, aliases and
 * Invoke, with Lambda's error shape (lambda/errors.ts) and, when access
 * keys are configured, SigV4 signatures required (lambda/sigv4.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError } from '@faas/errors';
import { FunctionConfigSchema, LATEST, create, parseQualifier, qualifiedTarget, type FunctionConfig } from '@faas/protocol';
import { aliasFromRequest } from '../alias-json.js';
import { readBody } from '../body-reader.js';
import { eventInvocation, resolveCallId } from '../invocation-request.js';
import { eventReply, FUNCTION_ERROR_HEADER, replyBody } from '../invocation-reply.js';
import { answeredOutcome, finishInvocation, noteResult, startInvocation } from '../invocation-timing.js';
import { answerLambdaErrors } from '../lambda/errors.js';
import { ANNOTATION, aliasConfiguration, aliasRequestBody, functionConfiguration, invalidParameter, nameFromLambda, runtimeFromLambda } from '../lambda/function-configuration.js';
import { verifySignature, type AccessKeys } from '../lambda/sigv4.js';
import { traceOf } from '../request-spans.js';
import type { HttpTriggerDeps } from '../server.js';

const BASE = '/2015-03-31/functions';
/** Base64 grows a zip by a third; JSON around it adds little. */
const base64Limit = (bytes: number) => Math.ceil(bytes / 3) * 4 + 64 * 1024;
const JSON_BODY_LIMIT = 1024 * 1024;

type NameParams = { name: string };
type AliasParams = { name: string; alias: string };
type Body = Record<string, unknown>;

export function lambdaRoutes(app: FastifyInstance, deps: HttpTriggerDeps & { readonly lambdaKeys?: AccessKeys }): void {
  const { stubs, invoker, publisher } = deps;

  /** The body, once its signature (when keys are configured) is checked. */
  const readSigned = async (request: FastifyRequest, limit: number): Promise<Buffer> => {
    const body = await readBody(request.raw, limit);
    if (deps.lambdaKeys) verifySignature({ method: request.method, url: request.raw.url ?? request.url, headers: request.headers, body }, deps.lambdaKeys);
    return body;
  };
  const readJson = async (request: FastifyRequest, limit = JSON_BODY_LIMIT): Promise<Body> => {
    const bytes = await readSigned(request, limit);
    if (bytes.length === 0) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new PlatformError('bad_request', `the body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidParameter('the body must be a JSON object');
    return parsed as Body;
  };

  const getConfig = async (name: string, qualifier = ''): Promise<FunctionConfig> => {
    const { function: found } = await stubs.getFunction({ name, qualifier });
    if (!found) throw new PlatformError('function_not_found', `Function not found: ${name}`);
    return found;
  };
  const exists = async (name: string) => {
    try {
      await getConfig(name);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'function_not_found') return false;
      throw error;
    }
  };
  const changed = (name: string) => {
    invoker.functionChanged(name);
    deps.knownFunctions.forget(name);
  };

  /** Uploads `Code.ZipFile` (base64); the digest and size it got. */
  const uploadZip = async (zipBase64: unknown): Promise<{ digest: string; size: number }> => {
    if (typeof zipBase64 !== 'string' || zipBase64 === '') throw invalidParameter('ZipFile is required: the function code, a zip file in base64 (S3 locations and images are not supported here)');
    const bytes = Buffer.from(zipBase64, 'base64');
    const stored = await stubs.putCode((async function* () { yield { chunk: bytes }; })());
    return { digest: stored.digest, size: Number(stored.size) };
  };

  const save = async (config: FunctionConfig) => {
    const { function: saved } = await stubs.putFunction({ function: config });
    if (!saved) throw new PlatformError('bad_gateway', 'stubs answered without the function');
    changed(saved.name);
    return saved;
  };
  const publish = async (name: string) => {
    const { function: published } = await stubs.publishVersion({ name });
    if (!published) throw new PlatformError('bad_gateway', 'stubs answered without the version');
    return published;
  };

  /** `base` with what a Create/UpdateFunctionConfiguration body sets. */
  const withSettings = (body: Body, base: FunctionConfig): FunctionConfig => {
    const annotations = { ...base.annotations };
    if (typeof body.Description === 'string') annotations[ANNOTATION.description] = body.Description;
    if (typeof body.Role === 'string') annotations[ANNOTATION.role] = body.Role;
    if (body.Runtime !== undefined) annotations[ANNOTATION.runtime] = String(body.Runtime);
    const environment = body.Environment as { Variables?: Record<string, string> } | undefined;
    const integer = (field: string, fallback: number) => {
      const value = body[field];
      if (value === undefined) return fallback;
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidParameter(`${field} must be an integer`);
      return value;
    };
    return create(FunctionConfigSchema, {
      ...base,
      runtime: body.Runtime !== undefined ? runtimeFromLambda(body.Runtime) : base.runtime,
      handler: typeof body.Handler === 'string' ? body.Handler : base.handler,
      memoryMb: integer('MemorySize', base.memoryMb),
      timeoutSeconds: integer('Timeout', base.timeoutSeconds),
      environment: environment ? { ...(environment.Variables ?? {}) } : base.environment,
      annotations,
    });
  };

  app.register(async (scope) => {
    answerLambdaErrors(scope, deps.logger);

    scope.post(BASE, async (request, reply) => {
      const body = await readJson(request, base64Limit(deps.maxCodeBytes));
      if (typeof body.FunctionName !== 'string') throw invalidParameter('FunctionName is required');
      const { name } = nameFromLambda(body.FunctionName);
      if (await exists(name)) throw new PlatformError('function_exists', `Function already exist: ${name}`);
      if (typeof body.Handler !== 'string' || body.Handler === '') throw invalidParameter('Handler is required');
      const code = await uploadZip((body.Code as Body | undefined)?.ZipFile);
      // Lambda's defaults: 3 seconds, 128 MB.
      const base = create(FunctionConfigSchema, { name, runtime: runtimeFromLambda(body.Runtime), handler: body.Handler, codeDigest: code.digest, memoryMb: 128, timeoutSeconds: 3, annotations: { [ANNOTATION.codeSize]: String(code.size) } });
      const saved = await save(withSettings(body, base));
      const shown = body.Publish === true ? await publish(name) : saved;
      return reply.status(201).send(functionConfiguration(shown));
    });

    const listFunctions = async (request: FastifyRequest, reply: FastifyReply) => {
      await readSigned(request, 0);
      const { functions } = await stubs.listFunctions({});
      return reply.send({ Functions: functions.map(functionConfiguration) });
    };
    // The SDKs ask with the trailing slash or without it, by version.
    scope.get(BASE, listFunctions);
    scope.get(`${BASE}/`, listFunctions);

    scope.get<{ Params: NameParams; Querystring: { Qualifier?: string } }>(`${BASE}/:name`, async (request, reply) => {
      await readSigned(request, 0);
      const { name, qualifier } = nameFromLambda(request.params.name);
      const config = await getConfig(name, request.query.Qualifier ?? qualifier ?? '');
      return reply.send({ Configuration: functionConfiguration(config), Code: { RepositoryType: 'FaaS', Location: `/v1/functions/${name}` } });
    });

    scope.get<{ Params: NameParams; Querystring: { Qualifier?: string } }>(`${BASE}/:name/configuration`, async (request, reply) => {
      await readSigned(request, 0);
      const { name, qualifier } = nameFromLambda(request.params.name);
      return reply.send(functionConfiguration(await getConfig(name, request.query.Qualifier ?? qualifier ?? '')));
    });

    scope.delete<{ Params: NameParams; Querystring: { Qualifier?: string } }>(`${BASE}/:name`, async (request, reply) => {
      await readSigned(request, 0);
      const { name, qualifier } = nameFromLambda(request.params.name);
      const version = request.query.Qualifier ?? qualifier;
      await getConfig(name);
      if (version !== undefined && version !== LATEST) {
        const parsed = parseQualifier(version);
        if (parsed.kind !== 'version') throw invalidParameter('Qualifier must be a version number to delete one version');
        await stubs.deleteVersion({ name, version: parsed.version });
        changed(`${name}:${parsed.version}`);
      } else {
        await stubs.deleteFunction({ name });
        changed(name);
      }
      return reply.status(204).send();
    });

    scope.put<{ Params: NameParams }>(`${BASE}/:name/code`, async (request, reply) => {
      const body = await readJson(request, base64Limit(deps.maxCodeBytes));
      const { name } = nameFromLambda(request.params.name);
      const current = await getConfig(name);
      const code = await uploadZip(body.ZipFile);
      const saved = await save(create(FunctionConfigSchema, { ...current, codeDigest: code.digest, annotations: { ...current.annotations, [ANNOTATION.codeSize]: String(code.size) } }));
      return reply.send(functionConfiguration(body.Publish === true ? await publish(name) : saved));
    });

    scope.put<{ Params: NameParams }>(`${BASE}/:name/configuration`, async (request, reply) => {
      const body = await readJson(request);
      const { name } = nameFromLambda(request.params.name);
      return reply.send(functionConfiguration(await save(withSettings(body, await getConfig(name)))));
    });

    scope.post<{ Params: NameParams }>(`${BASE}/:name/versions`, async (request, reply) => {
      await readJson(request);
      const { name } = nameFromLambda(request.params.name);
      return reply.status(201).send(functionConfiguration(await publish(name)));
    });

    scope.get<{ Params: NameParams }>(`${BASE}/:name/versions`, async (request, reply) => {
      await readSigned(request, 0);
      const { name } = nameFromLambda(request.params.name);
      const latest = await getConfig(name);
      const { versions } = await stubs.listVersions({ name });
      return reply.send({ Versions: [latest, ...versions].map(functionConfiguration) });
    });

    const putAlias = async (name: string, aliasName: string, body: Body, mustExist: boolean) => {
      const existing = await stubs.getAlias({ functionName: name, name: aliasName }).then((answer) => answer.alias, (error: unknown) => {
        if ((error as { code?: unknown }).code === 'alias_not_found') return undefined;
        throw error;
      });
      if (!mustExist && existing) throw new PlatformError('alias_exists', `Alias already exists: ${aliasName}`);
      if (mustExist && !existing) throw new PlatformError('alias_not_found', `Alias not found: ${aliasName}`);
      const alias = aliasFromRequest(aliasName, aliasRequestBody(body, existing));
      const { alias: saved } = await stubs.putAlias({ functionName: name, alias });
      if (!saved) throw new PlatformError('bad_gateway', 'stubs answered without the alias');
      deps.knownFunctions.forget(name);
      return aliasConfiguration(name, saved, typeof body.Description === 'string' ? body.Description : '');
    };

    scope.post<{ Params: NameParams }>(`${BASE}/:name/aliases`, async (request, reply) => {
      const body = await readJson(request);
      if (typeof body.Name !== 'string') throw invalidParameter('Name is required');
      const { name } = nameFromLambda(request.params.name);
      return reply.status(201).send(await putAlias(name, body.Name, body, false));
    });

    scope.put<{ Params: AliasParams }>(`${BASE}/:name/aliases/:alias`, async (request, reply) => {
      const body = await readJson(request);
      const { name } = nameFromLambda(request.params.name);
      return reply.send(await putAlias(name, request.params.alias, body, true));
    });

    scope.get<{ Params: AliasParams }>(`${BASE}/:name/aliases/:alias`, async (request, reply) => {
      await readSigned(request, 0);
      const { name } = nameFromLambda(request.params.name);
      const { alias } = await stubs.getAlias({ functionName: name, name: request.params.alias });
      if (!alias) throw new PlatformError('alias_not_found', `Alias not found: ${request.params.alias}`);
      return reply.send(aliasConfiguration(name, alias));
    });

    scope.post<{ Params: NameParams; Querystring: { Qualifier?: string } }>(`${BASE}/:name/invocations`, async (request, reply) => invoke(request, reply));
  });

  /** Lambda's Invoke: RequestResponse (default), Event (queued, 202) or DryRun (checked only, 204). */
  const invoke = async (request: FastifyRequest<{ Params: NameParams; Querystring: { Qualifier?: string } }>, reply: FastifyReply) => {
    const invocationType = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (!['RequestResponse', 'Event', 'DryRun'].includes(invocationType)) throw invalidParameter('X-Amz-Invocation-Type must be RequestResponse, Event or DryRun');
    const callId = resolveCallId(undefined);
    startInvocation(request, reply, callId, 'lambda');
    const runAsync = invocationType === 'Event';
    const payload = await readSigned(request, runAsync ? (deps.maxAsyncPayloadBytes ?? deps.maxPayloadBytes) : deps.maxPayloadBytes);
    const named = nameFromLambda(request.params.name);
    const target = qualifiedTarget(named.qualifier ? `${named.name}:${named.qualifier}` : named.name, request.query.Qualifier);
    const qualifier = target.includes(':') ? target.slice(target.indexOf(':') + 1) : LATEST;
    const invocation = eventInvocation({ functionName: target, callId, payload, contentType: 'application/json' });
    reply.header('x-amzn-requestid', callId);
    if (invocationType === 'DryRun') {
      await deps.knownFunctions.assertExists(target);
      return reply.status(204).send();
    }
    if (runAsync) {
      await deps.knownFunctions.assertExists(target);
      await publisher.publish(invocation, { callbackUrl: '', trace: traceOf(request) });
      finishInvocation(request, reply, 202, 'queued', named.name);
      return reply.status(202).send();
    }
    invocation.wantLogTail = String(request.headers['x-amz-log-type'] ?? '').toLowerCase() === 'tail';
    const result = await invoker.invoke(invocation, { trace: traceOf(request) });
    const answer = eventReply(result);
    if (invocation.wantLogTail) reply.header('x-amz-log-result', Buffer.from(result.logTail).toString('base64'));
    // Lambda says "Unhandled" for an error the function threw; the type is in the body.
    if (answer.headers[FUNCTION_ERROR_HEADER]) reply.header('x-amz-function-error', 'Unhandled');
    reply.header('x-amz-executed-version', await executedVersion(named.name, qualifier));
    noteResult(request, result);
    finishInvocation(request, reply, 200, answeredOutcome(request), named.name);
    return reply.status(200).type('application/json').send(replyBody(answer));
  };

  /** The version a qualifier ran: a number as it is, an alias as the version it points at. */
  const executedVersion = async (name: string, qualifier: string): Promise<string> => {
    const parsed = parseQualifier(qualifier);
    if (parsed.kind !== 'alias') return qualifier;
    const { alias } = await stubs.getAlias({ functionName: name, name: parsed.alias });
    return alias ? String(alias.functionVersion) : LATEST;
  };
}
