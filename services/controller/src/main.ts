import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { addHealthService, configureTransportSecurity, grpc, listen, shutdown } from '@faas/protocol';
import { NoticeCache, connectRedis, describeRedisTarget, isRedisReady, redisTargetOf, subscribeChannel, waitForRedis } from '@faas/redis';
import { isPlatformError } from '@faas/errors';
import { createLogger, metrics, serveMetrics, onShutdownSignal } from '@faas/telemetry';
import { CachedFunctions, type FunctionTarget } from './cached-functions.js';
import { loadControllerConfig } from './config.js';
import { GrpcFunclets } from './grpc-funclets.js';
import { RedisConcurrencyBook } from './concurrency-book.js';
import { FuncletDirectory } from './funclet-directory.js';
import { CallRunner } from './call-runner.js';
import { prefetchCode } from './code-prefetch.js';
import { controllerKeys } from './redis-keys.js';
import { Placement } from './placement.js';
import { addControllerService } from './server.js';
import { collectControllerMetrics } from './controller-metrics.js';
import { RedisSlotSignals, listenForSlotSignals } from './slot-signals.js';
import { StubsFunctions } from './stubs-functions.js';

/** How often silent funclets are dropped, leases expired and idle sandboxes swept. */
const MAINTENANCE_INTERVAL_MS = 250;
/** Tries at listing the functions at start (stubs may start after us). */
const STARTUP_LIST_ATTEMPTS = 10;

const config = loadControllerConfig();
configureTransportSecurity(config);
const log = createLogger('controller', config.LOG_LEVEL);
const token = config.FAAS_INTERNAL_TOKEN || undefined;

const redisTarget = redisTargetOf(config);
const redis = connectRedis(redisTarget, log);
if (!(await waitForRedis(redis, 5_000))) log.warn({ redis: describeRedisTarget(redisTarget) }, 'redis is not reachable yet; serving anyway');

const keys = controllerKeys(config.REDIS_KEY_PREFIX);
// Unique to this process: a restarted controller is a new owner, and adopts what its predecessor left.
const controllerId = `${hostname().slice(0, 24)}-${process.pid}-${randomUUID().slice(0, 8)}`;
const directory = new FuncletDirectory();
const funclets = new GrpcFunclets(token);
const stubs = new StubsFunctions(config.STUBS_ADDRESS, token);
const placement = new Placement({
  controllerId,
  funclets,
  membership: directory,
  book: new RedisConcurrencyBook(redis, keys.reservations, config.CONTROLLER_RESERVATION_TTL_MS),
  signals: new RedisSlotSignals(redis, keys.slotSignals, controllerId),
  log,
  limits: {
    queueTimeoutMs: config.CONTROLLER_QUEUE_TIMEOUT_MS,
    maxQueue: config.CONTROLLER_MAX_QUEUE,
    leaseTtlMs: config.CONTROLLER_LEASE_TTL_MS,
  },
});
const slotSignals = listenForSlotSignals(
  redisTarget,
  keys.slotSignals,
  controllerId,
  { wanted: (name, from) => placement.onSlotsWanted(name, from), freed: (name) => placement.onSlotsFreed(name) },
  log,
);
// A deploy's notice also reloads the config, so its first call finds it in
// memory, drains the older version's sandboxes (revoking the edges' leases
// on them), and sends the code to the funclets likely to run it.
const functionCache = new NoticeCache<FunctionTarget>({
  ttlMs: config.CONTROLLER_FUNCTION_CACHE_MS,
  refresh: async (target) => {
    let resolved: FunctionTarget;
    try {
      resolved = await stubs.resolve(target, { deadlineMs: Date.now() + 5_000 });
    } catch (error) {
      // A deleted function, or a deleted version ("name:3"): its sandboxes drain.
      if (isPlatformError(error) && (error.code === 'function_not_found' || error.code === 'version_not_found')) placement.functionGone(target);
      throw error;
    }
    for (const fn of [resolved.primary, resolved.additional]) {
      if (!fn) continue;
      placement.observe(fn);
      void prefetchCode(fn, { placement, funclets, log });
    }
    return resolved;
  },
});
const stubsChanges = subscribeChannel(
  redisTarget,
  keys.stubsChanges,
  { onMessage: (notice) => functionCache.onNotice(notice), onActiveChange: (active) => functionCache.setNoticesFlowing(active) },
  log,
);
// Functions whose reserved concurrency must be warm before any call asks for them.
void (async () => {
  for (let attempt = 1; attempt <= STARTUP_LIST_ATTEMPTS; attempt++) {
    try {
      for (const fn of await stubs.list()) if (fn.reservedConcurrency > 0) placement.observe(fn);
      return;
    } catch (error) {
      if (attempt === STARTUP_LIST_ATTEMPTS) log.warn({ err: (error as Error).message }, 'cannot list the functions; reserves are warmed as their functions are deployed or called');
      else await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
})();
const functions = new CachedFunctions(stubs, functionCache);
const runner = new CallRunner({ placement, funclets, functions });

const maintenance = setInterval(() => {
  for (const funclet of directory.dropSilent()) {
    log.warn({ funclet: funclet.id }, 'funclet went silent');
    placement.forgetFunclet(funclet.id, 'its reports stopped');
  }
  void placement.maintain();
}, MAINTENANCE_INTERVAL_MS);

const server = new grpc.Server();
addControllerService(
  server,
  {
    runner,
    placement,
    controllerId,
    directory,
    functions,
    leaseTtlMs: config.CONTROLLER_LEASE_TTL_MS,
    log,
  },
  { token, onUnexpectedError: (error, method) => log.error({ err: error, method }, 'unexpected error') },
);
addHealthService(server, () => isRedisReady(redis));

collectControllerMetrics(placement);
await serveMetrics(metrics, config.METRICS_LISTEN, log);
log.info({ address: await listen(server, config.CONTROLLER_LISTEN), controllerId }, 'listening');

onShutdownSignal(log, async () => {
  clearInterval(maintenance);
  // Placing stops first; our sandboxes stay for the other replicas (or our successor) to adopt.
  placement.close();
  await shutdown(server, 5_000);
  funclets.closeAll();
  stubs.close();
  await stubsChanges.close();
  await slotSignals.close();
  await redis.quit().catch(() => redis.disconnect());
});
