import { addHealthService, grpc, listen, shutdown, type FunctionConfig } from '@faas/protocol';
import { NoticeCache, connectRedis, isRedisReady, subscribeChannel, waitForRedis } from '@faas/redis';
import { isPlatformError } from '@faas/errors';
import { createLogger, onShutdownSignal } from '@faas/telemetry';
import { CachedFunctions } from './cached-functions.js';
import { loadControllerConfig } from './config.js';
import { GrpcFunclets } from './grpc-funclets.js';
import { FuncletMembership } from './funclet-membership.js';
import { CallRunner } from './call-runner.js';
import { prefetchCode } from './code-prefetch.js';
import { controllerKeys } from './redis-keys.js';
import { Placement } from './placement.js';
import { addControllerService } from './server.js';
import { StubsFunctions } from './stubs-functions.js';

/** How often membership is followed and idle sandboxes are swept. */
const MAINTENANCE_INTERVAL_MS = 1_000;
/** Upper bound on destroying our sandboxes at shutdown. */
const SHUTDOWN_DESTROY_BUDGET_MS = 5_000;

const config = loadControllerConfig();
const log = createLogger('controller', config.LOG_LEVEL);
const token = config.FAAS_INTERNAL_TOKEN || undefined;

const redis = connectRedis(config.REDIS_URL, log);
if (!(await waitForRedis(redis, 5_000))) log.warn({ redis: config.REDIS_URL }, 'redis is not reachable yet; serving anyway');

const keys = controllerKeys(config.REDIS_KEY_PREFIX);
const membership = new FuncletMembership(redis, keys, { ttlMs: config.FUNCLET_TTL_MS });
const funclets = new GrpcFunclets(token);
const stubs = new StubsFunctions(config.STUBS_ADDRESS, token);
const placement = new Placement({
  funclets,
  membership,
  log,
  limits: {
    queueTimeoutMs: config.CONTROLLER_QUEUE_TIMEOUT_MS,
    maxQueue: config.CONTROLLER_MAX_QUEUE,
    idleTtlMs: config.CONTROLLER_IDLE_TTL_MS,
    leaseTtlMs: config.CONTROLLER_LEASE_TTL_MS,
  },
});
// A deploy's notice also reloads the config, so its first call finds it in
// memory, drains the older version's sandboxes (revoking the edges' leases
// on them), and sends the code to the funclets likely to run it.
const functionCache = new NoticeCache<FunctionConfig>({
  ttlMs: config.CONTROLLER_FUNCTION_CACHE_MS,
  refresh: async (name) => {
    let fn: FunctionConfig;
    try {
      fn = await stubs.get(name, { deadlineMs: Date.now() + 5_000 });
    } catch (error) {
      if (isPlatformError(error) && error.code === 'function_not_found') placement.functionGone(name);
      throw error;
    }
    placement.observe(fn);
    void prefetchCode(fn, { placement, funclets, log });
    return fn;
  },
});
const stubsChanges = subscribeChannel(
  config.REDIS_URL,
  keys.stubsChanges,
  { onMessage: (notice) => functionCache.onNotice(notice), onActiveChange: (active) => functionCache.setNoticesFlowing(active) },
  log,
);
const runner = new CallRunner({ placement, funclets, functions: new CachedFunctions(stubs, functionCache) });

const maintenance = setInterval(() => void placement.maintain(), MAINTENANCE_INTERVAL_MS);

const server = new grpc.Server();
addControllerService(
  server,
  {
    runner,
    membership,
    placement,
    heartbeatIntervalMs: Math.max(1, Math.floor(config.FUNCLET_TTL_MS / 4)),
    leaseTtlMs: config.CONTROLLER_LEASE_TTL_MS,
    log,
  },
  { token, onUnexpectedError: (error, method) => log.error({ err: error, method }, 'unexpected error') },
);
addHealthService(server, () => isRedisReady(redis));

log.info({ address: await listen(server, config.CONTROLLER_LISTEN) }, 'listening');

onShutdownSignal(log, async () => {
  clearInterval(maintenance);
  await shutdown(server, 5_000);
  // Sandboxes are ours: leave none running on the funclets.
  await placement.close(SHUTDOWN_DESTROY_BUDGET_MS);
  funclets.closeAll();
  stubs.close();
  await stubsChanges.close();
  await redis.quit().catch(() => redis.disconnect());
});
