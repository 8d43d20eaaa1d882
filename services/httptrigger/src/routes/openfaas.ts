/**
 * The OpenFaaS gateway's management API (/system/*) as faas-cli 0.16 and
 * faas-provider use it: the same paths, JSON field names and status codes.
 * Functions map onto ours through openfaas/deployment.ts; secrets live in
 * stubs. Invocation (/function/{name}[.{namespace}]) is the shared
 * invocation route's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError } from '@faas/errors';
import { SecretWriteMode, type FunctionConfig } from '@faas/protocol';
import { JSON_TYPE } from '../http-errors.js';
import { readJsonBody } from '../json-body.js';
import { basicCredentialsOf, type BasicCredentials } from '../openfaas/basic-auth.js';
import { NAMESPACE, assertNamespace, configFromDeployment, parseDeployment, resolveImage, statusOf } from '../openfaas/deployment.js';
import { placeholderBundle } from '../openfaas/placeholder-bundle.js';
import type { HttpTriggerDeps } from '../server.js';
import { secretRpc } from './secrets.js';

const REALM = 'faas-engine';
/** Shown by `faas-cli version` as the provider. */
const PROVIDER = { provider: 'faas-engine', orchestration: 'runc', version: { sha: 'unknown', release: process.env.npm_package_version ?? '0.0.0' } };

/** Basic auth on every /system/* route when credentials are configured (the gateway's own rule). */
export function systemAuth(app: FastifyInstance, credentials: BasicCredentials | undefined): void {
  if (!credentials) return;
  // Every request passes here: a callback hook, so other paths cost a prefix check, not a promise.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.url.startsWith('/system/')) return done();
    const given = basicCredentialsOf(request.headers);
    if (given && credentials.verify(given.user, given.password)) return done();
    reply.header('www-authenticate', `Basic realm="${REALM}"`);
    done(new PlatformError('unauthenticated', given ? 'wrong user or password' : 'log in first: faas-cli login --username <user> --password-stdin'));
  });
}

export function openFaasRoutes(app: FastifyInstance, deps: HttpTriggerDeps): void {
  const { stubs, invoker } = deps;
  const secrets = <K extends 'putSecret' | 'listSecrets' | 'deleteSecret'>(name: K) => secretRpc(deps, name);

  /**
   * Uploaded with every deployment that needs it, not remembered: stubs
   * keeps one copy however often it comes, and a copy no function used any
   * more may have been collected since.
   */
  const placeholder = async () => (await stubs.putCode((async function* () { yield { chunk: placeholderBundle() }; })())).digest;

  const findFunction = async (name: string): Promise<FunctionConfig | undefined> => {
    try {
      return (await stubs.getFunction({ name, qualifier: '' })).function;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'function_not_found') return undefined;
      throw error;
    }
  };

  const deploy = async (request: FastifyRequest, reply: FastifyReply, mustExist: boolean) => {
    const deployment = parseDeployment(await readJsonBody(request, 'function'));
    assertNamespace(deployment.namespace);
    if (mustExist && !(await findFunction(deployment.service))) throw new PlatformError('function_not_found', `no function "${deployment.service}" to update`);
    const resolved = resolveImage(deployment.image, deployment.envProcess ?? '');
    const digest = resolved.codeDigest ?? (await placeholder());
    const { function: saved } = await stubs.putFunction({ function: configFromDeployment(deployment, resolved, digest) });
    if (!saved) throw new PlatformError('bad_gateway', 'stubs answered without the function');
    invoker.functionChanged(saved.name);
    deps.knownFunctions.forget(saved.name);
    if (resolved.note) {
      deps.logger.info({ function: saved.name, image: deployment.image }, resolved.note);
      reply.header('x-faas-image-note', resolved.note);
    }
    // faas-cli prints only the status; the body is for people reading it with curl.
    return reply.status(202).type('text/plain; charset=utf-8').send(resolved.note ? `${resolved.note}\n` : '');
  };
  app.post('/system/functions', (request, reply) => deploy(request, reply, false));
  app.put('/system/functions', (request, reply) => deploy(request, reply, true));

  app.get<{ Querystring: { namespace?: string } }>('/system/functions', async (request, reply) => {
    assertNamespace(request.query.namespace);
    const { functions } = await stubs.listFunctions({});
    return reply.type(JSON_TYPE).send(functions.map(statusOf));
  });

  app.get<{ Params: { name: string }; Querystring: { namespace?: string } }>('/system/function/:name', async (request, reply) => {
    assertNamespace(request.query.namespace);
    const found = await findFunction(request.params.name);
    if (!found) throw new PlatformError('function_not_found', `no function "${request.params.name}"`);
    return reply.type(JSON_TYPE).send(statusOf(found));
  });

  app.delete('/system/functions', async (request, reply) => {
    const body = (await readJsonBody(request, 'function')) as { functionName?: unknown; namespace?: unknown };
    if (typeof body?.functionName !== 'string' || body.functionName === '') throw new PlatformError('bad_request', 'field "functionName" must name the function');
    assertNamespace(typeof body.namespace === 'string' ? body.namespace : undefined);
    if (!(await findFunction(body.functionName))) throw new PlatformError('function_not_found', `no function "${body.functionName}"`);
    await stubs.deleteFunction({ name: body.functionName });
    invoker.functionChanged(body.functionName);
    deps.knownFunctions.forget(body.functionName);
    return reply.status(202).send();
  });

  app.post<{ Params: { name: string } }>('/system/scale-function/:name', async (request, reply) => {
    const body = (await readJsonBody(request, 'function')) as { replicas?: unknown; namespace?: unknown };
    if (typeof body?.replicas !== 'number' || !Number.isInteger(body.replicas) || body.replicas < 0) throw new PlatformError('bad_request', 'field "replicas" must be a non-negative integer');
    assertNamespace(typeof body.namespace === 'string' ? body.namespace : undefined);
    const found = await findFunction(request.params.name);
    if (!found) throw new PlatformError('function_not_found', `no function "${request.params.name}"`);
    // Replicas are sandboxes kept warm; reserved concurrency is counted in calls, one per sandbox here.
    await stubs.putFunction({ function: { ...found, reservedConcurrency: body.replicas * Math.max(1, found.concurrencyPerSandbox) } });
    invoker.functionChanged(found.name);
    return reply.status(202).send();
  });

  app.get('/system/info', async (_request, reply) => reply.type(JSON_TYPE).send({ provider: PROVIDER, version: PROVIDER.version, arch: process.arch === 'x64' ? 'x86_64' : process.arch }));
  app.get('/system/namespaces', async (_request, reply) => reply.type(JSON_TYPE).send([NAMESPACE]));

  app.get<{ Querystring: { namespace?: string } }>('/system/secrets', async (request, reply) => {
    assertNamespace(request.query.namespace);
    const { names } = await secrets('listSecrets')({});
    return reply.type(JSON_TYPE).send(names.map((name) => ({ name, namespace: NAMESPACE })));
  });

  const writeSecret = async (request: FastifyRequest, reply: FastifyReply, mode: SecretWriteMode) => {
    const { name, value } = parseSecret(await readJsonBody(request, 'secret'));
    const { created } = await secrets('putSecret')({ name, value, mode });
    return reply.status(created ? 201 : 200).send();
  };
  app.post('/system/secrets', (request, reply) => writeSecret(request, reply, SecretWriteMode.CREATE));
  app.put('/system/secrets', (request, reply) => writeSecret(request, reply, SecretWriteMode.UPDATE));

  app.delete('/system/secrets', async (request, reply) => {
    const body = (await readJsonBody(request, 'secret')) as { name?: unknown; namespace?: unknown };
    if (typeof body?.name !== 'string' || body.name === '') throw new PlatformError('bad_request', 'field "name" must name the secret');
    assertNamespace(typeof body.namespace === 'string' ? body.namespace : undefined);
    await secrets('deleteSecret')({ name: body.name });
    return reply.status(202).send();
  });
}

/** faas-provider's Secret: `value` as text, or `rawValue` (Go []byte, so base64 in JSON). */
function parseSecret(body: unknown): { name: string; value: Uint8Array } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PlatformError('bad_request', 'the secret must be a JSON object like {"name": "...", "value": "..."}');
  const { name, namespace, value, rawValue } = body as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') throw new PlatformError('bad_request', 'field "name" must name the secret');
  assertNamespace(typeof namespace === 'string' ? namespace : undefined);
  if (rawValue !== undefined && rawValue !== null) {
    if (typeof rawValue !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(rawValue)) throw new PlatformError('bad_request', 'field "rawValue" must be base64');
    return { name, value: Buffer.from(rawValue, 'base64') };
  }
  if (value !== undefined && value !== null && typeof value !== 'string') throw new PlatformError('bad_request', 'field "value" must be a string');
  return { name, value: Buffer.from(typeof value === 'string' ? value : '') };
}

