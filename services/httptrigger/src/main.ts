import type { AddressInfo } from 'node:net';
import { Invoker } from '@faas/client';
import { readVariableFileOrExit } from '@faas/config';
import { configureTransportSecurity, formatQualifier, parseQualifiedName } from '@faas/protocol';
import { createLogger, onShutdownSignal, settlesWithin } from '@faas/telemetry';
import { NatsInvocationPublisher } from './async-publisher.js';
import { edgeAuthFrom } from './auth-setup.js';
import { createClients } from './clients.js';
import { loadHttpTriggerConfig } from './config.js';
import { CallStats } from './call-stats.js';
import { collectEdgeMetrics } from './edge-metrics.js';
import { InvocationHistory } from './invocation-history.js';
import { KnownFunctions } from './known-functions.js';
import type { EdgeAuth } from './auth/index.js';
import { accessKeysFrom, type AccessKeys } from './lambda/sigv4.js';
import { NatsLogReader } from './log-reader.js';
import { credentialsFrom, type BasicCredentials } from './openfaas/basic-auth.js';
import { RegistryStatusWatch } from './registry-status.js';
import { buildServer } from './server.js';

const SERVICE = 'httptrigger';
const MIB = 1024 * 1024;
const config = loadHttpTriggerConfig();
configureTransportSecurity(config);
const logger = createLogger(SERVICE, config.LOG_LEVEL);

/** Basic auth on /system/*, or exit naming what is wrong with its configuration. */
function systemCredentials() {
  try {
    return credentialsFrom({
      user: config.FAAS_BASIC_AUTH_USER,
      userFile: config.FAAS_BASIC_AUTH_USER_FILE,
      password: config.FAAS_BASIC_AUTH_PASSWORD,
      passwordFile: config.FAAS_BASIC_AUTH_PASSWORD_FILE,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'basic auth is misconfigured');
    process.exit(1);
  }
}

/** SigV4 keys for the Lambda API, or exit naming what is wrong with them. */
function lambdaKeys() {
  try {
    return accessKeysFrom({ list: config.FAAS_LAMBDA_ACCESS_KEYS, credentialsFile: config.FAAS_LAMBDA_CREDENTIALS_FILE });
  } catch (error) {
    logger.fatal({ err: error }, 'the Lambda access keys are misconfigured');
    process.exit(1);
  }
}

/**
 * With auth on, /system/* takes user `admin` with the admin token (and the
 * configured pair, if any); with it off, only the configured pair, if any.
 */
function systemCredentialsWith(auth: EdgeAuth | undefined): BasicCredentials | undefined {
  const configured = systemCredentials();
  if (!auth) return configured;
  return { verify: (user, password) => auth.isAdminPassword(user, password) || (configured?.verify(user, password) ?? false) };
}

/** With auth on, every Lambda request is signed, by a configured key: none configured refuses them all. */
function lambdaKeysWith(auth: EdgeAuth | undefined): AccessKeys | undefined {
  return lambdaKeys() ?? (auth ? { secretFor: () => undefined } : undefined);
}

/** The edge's HTTPS certificate and key; a file that cannot be read stops the start, naming its variable. */
function edgeTls(): { cert: Buffer; key: Buffer } | undefined {
  if (!config.HTTP_TLS_CERT_FILE) return undefined;
  return {
    cert: readVariableFileOrExit(SERVICE, 'HTTP_TLS_CERT_FILE', config.HTTP_TLS_CERT_FILE),
    key: readVariableFileOrExit(SERVICE, 'HTTP_TLS_KEY_FILE', config.HTTP_TLS_KEY_FILE),
  };
}

// Read before anything connects: a file that cannot be read stops the start at once.
const https = edgeTls();

const clients = createClients({
  stubs: config.STUBS_ADDRESS,
  queueWorker: config.QUEUE_WORKER_ADDRESS,
  token: config.FAAS_INTERNAL_TOKEN,
});
const invoker = new Invoker({ controllerAddress: config.CONTROLLER_ADDRESS, token: config.FAAS_INTERNAL_TOKEN || undefined, dataPath: config.FAAS_DATA_PATH });
collectEdgeMetrics(() => invoker.leasedSandboxes());
const auth = edgeAuthFrom(config, clients);
// Without auth the port is an open door: only this machine may knock, unless told otherwise.
const host = config.HTTP_HOST || (auth ? '0.0.0.0' : '127.0.0.1');
if (!auth) logger.warn({ host }, 'FAAS_AUTH=off: anyone who reaches the HTTP port can deploy and run code');
const publisher = new NatsInvocationPublisher(config.NATS_URL, logger);
const registryStatus = new RegistryStatusWatch(clients.stubs, logger);
// Asked before listening, so the first /healthz already knows (stubs away: it answers later).
await settlesWithin(registryStatus.start(), 2_000);
publisher.start();

const app = buildServer({
  ...clients,
  invoker,
  publisher,
  knownFunctions: new KnownFunctions((target) => {
    const { name, qualifier } = parseQualifiedName(target);
    return clients.stubs.getFunction({ name, qualifier: formatQualifier(qualifier) });
  }, config.HTTP_FUNCTION_CHECK_CACHE_MS),
  history: new InvocationHistory(config.HTTP_HISTORY_SIZE),
  callStats: new CallStats(),
  leasedSandboxes: (name) => invoker.sandboxesOf(name),
  logs: new NatsLogReader(() => publisher.natsConnection),
  maxCodeBytes: config.HTTP_MAX_CODE_MB * MIB,
  maxPayloadBytes: config.HTTP_MAX_PAYLOAD_MB * MIB,
  maxAsyncPayloadBytes: config.HTTP_MAX_ASYNC_PAYLOAD_KB * 1024,
  logger,
  systemCredentials: systemCredentialsWith(auth),
  lambdaKeys: lambdaKeysWith(auth),
  httpTriggerRefreshMs: config.HTTP_TRIGGER_REFRESH_MS,
  auth,
  tokens: clients.tokens,
  durabilityWarning: () => registryStatus.current,
  https,
});
await app.listen({ host, port: config.HTTP_PORT });
const { port } = app.server.address() as AddressInfo;
logger.info({ address: `${host}:${port}`, auth: auth ? 'on' : 'off', scheme: config.HTTP_TLS_CERT_FILE ? 'https' : 'http' }, 'listening');

onShutdownSignal(logger, async () => {
  // Running invocations may finish within the grace period; then they are cut.
  if (!(await settlesWithin(app.close(), config.HTTP_SHUTDOWN_GRACE_MS))) logger.warn('requests still running at shutdown; closing anyway');
  registryStatus.stop();
  await publisher.close();
  invoker.close();
  for (const client of Object.values(clients)) client.close();
});
