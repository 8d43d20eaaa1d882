import { join } from 'node:path';
import { addHealthService, configureTransportSecurity, grpc, listen, shutdown, type FunctionConfig } from '@faas/protocol';
import { DROP_ALL_NOTICE, NoticeCache, connectRedis, describeRedisTarget, isRedisReady, redisTargetOf, subscribeChannel, waitForRedis } from '@faas/redis';
import { createLogger, metrics, serveMetrics, onShutdownSignal, settlesWithin } from '@faas/telemetry';
import { blobStoreOf } from './blob-store-of-config.js';
import { CodeCollector } from './code-collector.js';
import { CodeStore } from './code-store.js';
import { loadStubsConfig, retentionMs } from './config.js';
import { FunctionRegistry } from './function-registry.js';
import { SECRETS_KEY_FILE, SecretCipher } from './secret-cipher.js';
import { SecretStore } from './secret-store.js';
import { stubsKeys } from './redis-keys.js';
import { RegistryDurabilityWatch } from './registry-durability.js';
import { RuntimeRegistry } from './runtime-registry.js';
import { addStubsService } from './server.js';
import { TokenRegistry } from './token-registry.js';
import { addTokensService } from './tokens-server.js';
import { TriggerRegistry } from './trigger-registry.js';
import { VersionRegistry } from './version-registry.js';

const config = loadStubsConfig();
configureTransportSecurity(config);
const log = createLogger('stubs', config.LOG_LEVEL);

const blobs = blobStoreOf(config);
await blobs.init();

const redisTarget = redisTargetOf(config);
const redis = connectRedis(redisTarget, log);
// Start even when Redis is down (health says NOT_SERVING until it is up),
// but give it a moment so the first calls after "listening" succeed.
if (!(await waitForRedis(redis, 5_000))) log.warn({ redis: describeRedisTarget(redisTarget) }, 'redis is not reachable yet; serving anyway');

// Only the host: the URL may carry a password.
const durability = new RegistryDurabilityWatch(redis, describeRedisTarget(redisTarget), log);
// Redis away at start: the first answer comes later; stubs starts anyway.
await settlesWithin(durability.start(), 2_000);

const keys = stubsKeys(config.REDIS_KEY_PREFIX);
const code = new CodeStore(blobs, redis, keys, config.STUBS_MAX_CODE_MB * 1024 * 1024);
// Other replicas' writes reach this replica's cache through the changes
// channel; until the subscription is confirmed the cache is bypassed.
const functionCache = new NoticeCache<FunctionConfig>({ ttlMs: config.STUBS_FUNCTION_CACHE_MS });
const changes = subscribeChannel(
  redisTarget,
  keys.changes,
  { onMessage: (notice) => functionCache.onNotice(notice), onActiveChange: (active) => functionCache.setNoticesFlowing(active) },
  log,
);
const runtimes = new RuntimeRegistry(redis, keys, code, Date.now, (write) => functionCache.whileChanging(DROP_ALL_NOTICE, write));
// The key sits beside the blobs, not in Redis: a copy of Redis alone reveals no secret.
const secrets = new SecretStore(redis, keys.secrets, await SecretCipher.fromKeyFile(join(config.STUBS_DATA_DIR, SECRETS_KEY_FILE)));
const functions = new FunctionRegistry(redis, keys, code, Date.now, runtimes, functionCache, secrets);
const triggers = new TriggerRegistry(redis, keys, async (name) => void (await functions.get(name)));
const versions = new VersionRegistry(redis, keys, functions);
const collector = new CodeCollector(redis, keys, blobs, { retentionMs: retentionMs(config), log });
collector.start();

const server = new grpc.Server({
  // Uploaders pick their chunk size; accept generous chunks.
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
});
const serveOptions = {
  token: config.FAAS_INTERNAL_TOKEN || undefined,
  onUnexpectedError: (error: unknown, method: string) => log.error({ err: error, method }, 'unexpected error'),
};
addStubsService(server, { code, functions, runtimes, triggers, versions, secrets, registryStatus: () => durability.current }, serveOptions);
addTokensService(server, new TokenRegistry(redis, keys), serveOptions);
addHealthService(server, () => isRedisReady(redis));

await serveMetrics(metrics, config.METRICS_LISTEN, log);
log.info({ address: await listen(server, config.STUBS_LISTEN) }, 'listening');

onShutdownSignal(log, async () => {
  await shutdown(server, 5_000);
  durability.stop();
  await collector.stop();
  await changes.close();
  await redis.quit().catch(() => redis.disconnect());
});
