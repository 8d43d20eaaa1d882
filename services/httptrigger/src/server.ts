/**
 * The HTTP edge (fastify): wires the route groups, the error catalogue's
 * answers and Fastify's workarounds. Every platform error leaves through one
 * error handler as {code, message}; invocations go to the data path's
 * invoker (leases straight to sandboxes, else the controller).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Invoker } from '@faas/client';
import { PlatformError } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import type { InvocationPublisher } from './async-publisher.js';
import { guardRoutes, type EdgeAuth } from './auth/index.js';
import type { Clients } from './clients.js';
import type { CallStats } from './call-stats.js';
import { JSON_TYPE, answerErrors, answerUnparsableRequest } from './http-errors.js';
import type { InvocationHistory } from './invocation-history.js';
import type { KnownFunctions } from './known-functions.js';
import type { LogReader } from './log-reader.js';
import type { AccessKeys } from './lambda/sigv4.js';
import type { BasicCredentials } from './openfaas/basic-auth.js';
import { acceptAnyBody } from './request-quirks.js';
import { traceRequests } from './request-spans.js';
import { HttpTriggerTable } from './http-trigger-table.js';
import { RouteTable } from './route-table.js';
import { consoleRoutes } from './console/routes.js';
import { asyncCallRoutes } from './routes/async-calls.js';
import { httpTriggerHandler } from './routes/http-triggers.js';
import { invocationRoutes } from './routes/invocations.js';
import { lambdaRoutes } from './routes/lambda.js';
import { logRoutes } from './routes/logs.js';
import { managementRoutes } from './routes/management.js';
import { observabilityRoutes } from './routes/observability.js';
import { openFaasRoutes, systemAuth } from './routes/openfaas.js';
import { secretRoutes } from './routes/secrets.js';
import { tokenRoutes } from './routes/tokens.js';
import { triggerRoutes } from './routes/triggers.js';
import { versionRoutes } from './routes/versions.js';

export interface HttpTriggerDeps {
  readonly stubs: Pick<
    Clients['stubs'],
    'putCode' | 'putFunction' | 'getFunction' | 'listFunctions' | 'deleteFunction' | 'publishVersion' | 'listVersions' | 'deleteVersion' | 'putAlias' | 'getAlias' | 'listAliases' | 'deleteAlias'
  > &
    Partial<Pick<Clients['stubs'], 'putRuntime' | 'getRuntime' | 'listRuntimes' | 'putTrigger' | 'getTrigger' | 'listTriggers' | 'deleteTrigger' | 'putSecret' | 'listSecrets' | 'deleteSecret'>>;
  readonly invoker: Pick<Invoker, 'invoke' | 'functionChanged'>;
  readonly queueWorker: Pick<Clients['queueWorker'], 'getCall'> & Partial<Pick<Clients['queueWorker'], 'listCalls' | 'listDeadLetters' | 'replayDeadLetter'>>;
  readonly publisher: Pick<InvocationPublisher, 'connected' | 'publish'>;
  /** Whether a function exists, for queueing calls (a short memory of stubs' answers). */
  readonly knownFunctions: Pick<KnownFunctions, 'assertExists' | 'forget'>;
  /** Function logs (GET /v1/functions/{name}/logs); absent → 503 there. */
  readonly logs?: LogReader;
  readonly maxCodeBytes: number;
  /** Largest synchronous invocation body. */
  readonly maxPayloadBytes: number;
  /** Largest queued invocation body (defaults to maxPayloadBytes). */
  readonly maxAsyncPayloadBytes?: number;
  /** This edge's last calls per function (GET /v1/functions/{name}/history); absent: none kept. */
  readonly history?: InvocationHistory;
  /** This edge's last hour per function, a minute at a time (GET /v1/functions/{name}/stats); absent: none kept. */
  readonly callStats?: CallStats;
  /** Sandboxes this edge holds leases on, per function (GET /v1/functions/{name}/sandboxes). */
  readonly leasedSandboxes?: (functionName: string) => Array<{ sandboxId: string; inFlight: number; slots: number }>;
  readonly logger: Logger;
  /** Basic auth on the OpenFaaS /system/* routes; absent → open, as OpenFaaS without auth. */
  readonly systemCredentials?: BasicCredentials;
  /** Access keys for SigV4 on the Lambda routes; absent → unsigned requests accepted. */
  readonly lambdaKeys?: AccessKeys;
  /** How often the HTTP trigger table is read again from stubs (default 2 s). */
  readonly httpTriggerRefreshMs?: number;
  /** Tokens and scopes; absent when auth is off (FAAS_AUTH=off): every route is open. */
  readonly auth?: EdgeAuth;
  /** The Tokens service (stubs); absent → 503 on /v1/tokens. */
  readonly tokens?: Pick<Clients['tokens'], 'createToken' | 'listTokens' | 'revokeToken'>;
  /** A sentence for /healthz and the log when the registry would not survive a restart. */
  readonly durabilityWarning?: () => string | undefined;
  /** Certificate and key to serve HTTPS with; absent: plain HTTP. */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
}

export function buildServer(deps: HttpTriggerDeps): FastifyInstance {
  // Fastify types an HTTPS instance apart; the routes use only what both kinds share.
  const app = Fastify({
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key } } : {}),
    logger: false,
    // Call ids may be 128 characters.
    routerOptions: { maxParamLength: 256 },
    // Invocations can take up to a function's timeout (900 s).
    requestTimeout: 0,
    return503OnClosing: true,
    // A request Node's parser cannot read (bad framing, headers too large) gets our error shape too.
    clientErrorHandler: answerUnparsableRequest,
    // A path Fastify's router refuses (bad percent-encoding, a segment over maxParamLength) too.
    frameworkErrors: (error, _request, reply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is longer than 256 characters' : 'the path is not validly percent-encoded';
      void (reply as unknown as FastifyReply).code(400).type(JSON_TYPE).send(new PlatformError('bad_request', message).toJSON());
    },
  });
  const routes = new RouteTable();
  routes.watch(app);
  if (deps.auth) guardRoutes(app, deps.auth);
  traceRequests(app);
  acceptAnyBody(app);
  // HTTP triggers take what no platform route does; they need stubs' trigger list.
  const listTriggers = deps.stubs.listTriggers?.bind(deps.stubs);
  const httpTriggers = listTriggers ? new HttpTriggerTable(async () => (await listTriggers({})).triggers, deps.logger, deps.httpTriggerRefreshMs ?? 2_000) : undefined;
  if (httpTriggers) {
    app.addHook('onReady', async () => httpTriggers.start());
    app.addHook('onClose', async () => httpTriggers.stop());
  }
  answerErrors(app, routes, deps.logger, httpTriggers ? httpTriggerHandler(deps, httpTriggers) : undefined);
  systemAuth(app, deps.systemCredentials);

  app.get('/healthz', async () => {
    const warning = deps.durabilityWarning?.();
    return { status: 'ok', nats: deps.publisher.connected ? 'connected' : 'disconnected', auth: deps.auth ? 'on' : 'off', ...(warning ? { registry: 'not durable', warning } : {}) };
  });
  managementRoutes(app, deps);
  versionRoutes(app, deps);
  logRoutes(app, deps);
  triggerRoutes(app, deps, () => httpTriggers?.refresh());
  secretRoutes(app, deps);
  openFaasRoutes(app, deps);
  lambdaRoutes(app, deps);
  invocationRoutes(app, deps);
  asyncCallRoutes(app, deps);
  observabilityRoutes(app, deps);
  consoleRoutes(app);
  tokenRoutes(app, deps);
  return app;
}
