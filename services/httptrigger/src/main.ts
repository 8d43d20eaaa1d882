import type { AddressInfo } from 'node:net';
import { Invoker } from '@faas/client';
import { formatQualifier, parseQualifiedName } from '@faas/protocol';
import { createLogger, onShutdownSignal, settlesWithin } from '@faas/telemetry';
import { NatsInvocationPublisher } from './async-publisher.js';
import { edgeAuthFrom } from './auth-setup.js';
import { createClients } from './clients.js';
import { loadHttpTriggerConfig } from './config.js';
import { KnownFunctions } from './known-functions.js';
import { NatsLogReader } from './log-reader.js';
import { RegistryStatusWatch } from './registry-status.js';
import { buildServer } from './server.js';

const SERVICE = 'httptrigger';
const MIB = 1024 * 1024;
const config = loadHttpTriggerConfig();
const logger = createLogger(SERVICE, config.LOG_LEVEL);

const clients = createClients({
  stubs: config.STUBS_ADDRESS,
  queueWorker: config.QUEUE_WORKER_ADDRESS,
  token: config.FAAS_INTERNAL_TOKEN,
});
const invoker = new Invoker({ controllerAddress: config.CONTROLLER_ADDRESS, token: config.FAAS_INTERNAL_TOKEN || undefined, dataPath: config.FAAS_DATA_PATH });
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
  logs: new NatsLogReader(() => publisher.natsConnection),
  maxCodeBytes: config.HTTP_MAX_CODE_MB * MIB,
  maxPayloadBytes: config.HTTP_MAX_PAYLOAD_MB * MIB,
  maxAsyncPayloadBytes: config.HTTP_MAX_ASYNC_PAYLOAD_KB * 1024,
  logger,
  auth,
  tokens: clients.tokens,
  durabilityWarning: () => registryStatus.current,
});
await app.listen({ host, port: config.HTTP_PORT });
const { port } = app.server.address() as AddressInfo;
logger.info({ address: `${host}:${port}`, auth: auth ? 'on' : 'off' }, 'listening');

onShutdownSignal(logger, async () => {
  // Running invocations may finish within the grace period; then they are cut.
  if (!(await settlesWithin(app.close(), config.HTTP_SHUTDOWN_GRACE_MS))) logger.warn('requests still running at shutdown; closing anyway');
  registryStatus.stop();
  await publisher.close();
  invoker.close();
  for (const client of Object.values(clients)) client.close();
});
