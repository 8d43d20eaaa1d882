import { randomUUID } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Funclet, Stubs, addHealthService, addService, configureTransportSecurity, createClient, grpc, listen, shutdown } from '@faas/protocol';
import { createLogger, metrics, serveMetrics, onShutdownSignal, settlesWithin } from '@faas/telemetry';
import { CodeCache } from './code-cache.js';
import { loadFuncletConfig, poolBudgetMb } from './config.js';
import { cleanHost } from './host-cleanup.js';
import { ControllerAttachment } from './controller-attachment.js';
import { detectCgroupDriver } from './sandbox/cgroup-driver.js';
import { EgressNetwork } from './sandbox/egress-network.js';
import { runHostCommand } from './sandbox/host-command.js';
import { prepareHostMounts } from './sandbox/host-mounts.js';
import { MountHelper } from './sandbox/mount-helper.js';
import { NetnsPool } from './sandbox/netns-pool.js';
import { Runc } from './sandbox/runc.js';
import { SANDBOX_UID } from './sandbox/oci-spec.js';
import { stageSharedRoot } from './sandbox/staging.js';
import { SandboxManager } from './sandbox-manager.js';
import { NatsLogPublisher } from './log-publisher.js';
import { LogSink } from './log-sink.js';
import { collectFuncletMetrics } from './funclet-metrics.js';
import { SANDBOX_INIT_PATH, SUPPORTED_RUNTIMES } from './runtimes.js';
import { funcletService } from './server.js';

const SERVICE = 'funclet';
/** How often sandboxes that lost their controller are checked for one that claimed them. */
const ORPHAN_SWEEP_MS = 5_000;
/** How long an idle sandbox's agent has to answer whether it still does. */
const AGENT_ANSWER_MS = 2_000;
/** Host directories every sandbox sees read-only at the same path (/usr/local masked; /etc is the sandbox's own). */
const HOST_SYSTEM_DIRS = ['/usr', '/lib', '/lib64', '/bin', '/sbin'].filter((dir) => existsSync(dir));

const config = loadFuncletConfig();
configureTransportSecurity(config);
const logger = createLogger(SERVICE, config.LOG_LEVEL);
const token = config.FAAS_INTERNAL_TOKEN || undefined;
const funcletId = config.FUNCLET_ID;
const bootId = randomUUID();

function fatal(message: string, details: Record<string, unknown> = {}): never {
  logger.fatal(details, message);
  process.exit(1);
}

const agentDir = fileURLToPath(new URL('./agent/', import.meta.url)).replace(/\/$/, '');
if (!existsSync(join(agentDir, 'node-agent.js')) || !existsSync(join(agentDir, 'package.json'))) {
  fatal('the runtime agent is not built (dist/agent); run the funclet build', { agentDir });
}
const nodePath = config.FUNCLET_NODE_PATH;
const visibleInSandbox = (path: string) => !path.startsWith('/usr/local/') && HOST_SYSTEM_DIRS.some((dir) => path.startsWith(`${dir}/`));
if (!existsSync(nodePath) || !visibleInSandbox(nodePath) || !visibleInSandbox(realpathSync(nodePath))) {
  fatal('FUNCLET_NODE_PATH must be a node binary under a directory sandboxes see (not /usr/local)', { nodePath, visible: HOST_SYSTEM_DIRS });
}
if (!existsSync(SANDBOX_INIT_PATH)) fatal(`sandboxes need ${SANDBOX_INIT_PATH} as their PID 1: install Debian's tini`);

const stateDir = config.FUNCLET_STATE_DIR;
const sandboxesDir = join(stateDir, 'sandboxes');
const codeDir = join(stateDir, 'code');
const codeViewDir = join(stateDir, 'code-view');
await mkdir(config.FUNCLET_RUNC_ROOT, { recursive: true, mode: 0o700 });
await mkdir(stateDir, { recursive: true, mode: 0o755 });
const runc = new Runc(config.RUNC_PATH, config.FUNCLET_RUNC_ROOT);
const cgroups = detectCgroupDriver();
const egress = new EgressNetwork(funcletId, runHostCommand, logger);
const hostResources = { funcletId, sandboxesDir, codeViewDir, runc, cgroups, run: runHostCommand, egress, log: logger };

// A previous process with our id may have died without cleaning up.
const orphans = await cleanHost(hostResources);
if (orphans.containers.length > 0 || orphans.namespaces.length > 0) {
  logger.info({ containers: orphans.containers, namespaces: orphans.namespaces }, 'removed orphaned sandboxes');
}
try {
  await prepareHostMounts(runHostCommand, { sandboxesDir, codeDir, codeViewDir });
} catch (error) {
  fatal('cannot prepare the sandboxes and code mounts', { err: error });
}
const stage = await stageSharedRoot(sandboxesDir, agentDir, { hostEtc: '/etc', visibleDirs: HOST_SYSTEM_DIRS, uid: SANDBOX_UID });

const stubs = createClient(Stubs, config.STUBS_ADDRESS, { token, peerName: 'stubs' });
const codeCache = new CodeCache({
  codeRoot: codeDir,
  viewRoot: codeViewDir,
  source: async function* (digest) {
    for await (const message of stubs.getCode({ digest })) yield message.chunk;
  },
  log: logger,
  maxBytes: config.FUNCLET_CODE_CACHE_MB * 1024 * 1024,
});
await codeCache.init();

const netns = new NetnsPool({
  funcletId,
  run: runHostCommand,
  log: logger,
  // Enough for the pool to boot without waiting, plus a few for sandboxes booted on demand.
  spare: Math.max(config.FUNCLET_POOL_SIZE, ...Object.values(config.FUNCLET_POOL_SIZES)) + config.FUNCLET_NETNS_SPARE,
  egress,
  egressSpare: 1,
});
await netns.start();

// Function output: lines to NATS (dropped while it is away), tails to callers who ask.
const logPublisher = new NatsLogPublisher(config.NATS_URL, logger, config.NATS_STREAM_REPLICAS);
logPublisher.start();
const logSink = new LogSink(logPublisher);
if (!existsSync(config.FUNCLET_PYTHON_PATH)) {
  logger.warn({ pythonPath: config.FUNCLET_PYTHON_PATH }, 'no python3 here: python3 functions cannot run (Debian package python3)');
}

const mounter = await MountHelper.start(config.FUNCLET_PYTHON_PATH, runHostCommand, logger);
const manager = new SandboxManager({
  funcletId,
  stateDir,
  memoryMbTotal: config.FUNCLET_MEMORY_MB,
  stage,
  initPath: SANDBOX_INIT_PATH,
  runtimePaths: { nodePath, pythonPath: config.FUNCLET_PYTHON_PATH },
  hostSystemDirs: HOST_SYSTEM_DIRS,
  runc,
  codeCache,
  cgroups,
  netns,
  run: runHostCommand,
  mounter,
  pool: { size: config.FUNCLET_POOL_SIZE, sizes: config.FUNCLET_POOL_SIZES, budgetMb: poolBudgetMb(config), memoryMb: config.FUNCLET_POOL_SANDBOX_MB },
  log: logger,
  logSink,
  secretValues: async (names) => (await stubs.getSecretValues({ names: [...names] })).values,
});
manager.start();

const server = new grpc.Server();
addService(server, Funclet, funcletService(manager, logger), {
  token,
  onUnexpectedError: (error, method) => logger.error({ err: error, method }, 'unexpected error'),
});
let serving = true;
addHealthService(server, () => serving);
const boundAddress = await listen(server, config.FUNCLET_LISTEN);
const listenHost = boundAddress.slice(0, boundAddress.lastIndexOf(':'));
const port = boundAddress.slice(boundAddress.lastIndexOf(':') + 1);
// A wildcard address cannot be dialled; without an explicit advertise address, assume a single host.
const advertised =
  config.FUNCLET_ADVERTISE_ADDRESS || (['0.0.0.0', '[::]', '::'].includes(listenHost) ? `127.0.0.1:${port}` : boundAddress);

// Every controller replica keeps its own view of the funclets: each gets the reports.
const describeSelf = () => ({
  funcletId,
  address: advertised,
  bootId,
  memoryMbTotal: manager.memoryMbTotal,
  memoryMbUsed: manager.memoryMbUsed,
  runtimes: SUPPORTED_RUNTIMES,
});
const controllers = config.CONTROLLER_ADDRESS.map((address) => {
  const client = createClient(Controller, address, { token, peerName: `controller ${address}` });
  const attachment = new ControllerAttachment({
    client,
    manager,
    describe: describeSelf,
    intervalMs: config.FUNCLET_REPORT_INTERVAL_MS,
    log: logger.child({ controller: address }),
  });
  attachment.start();
  return { client, attachment };
});
// Sandboxes whose controller went away and that no other claimed, and idle ones whose agent went silent.
const orphanSweep = setInterval(() => void manager.destroyUnowned(config.FUNCLET_ORPHAN_TTL_MS), ORPHAN_SWEEP_MS);
const agentCheck = setInterval(() => void manager.recycleUnresponsive(config.FUNCLET_AGENT_CHECK_MS, AGENT_ANSWER_MS), config.FUNCLET_AGENT_CHECK_MS);

collectFuncletMetrics(manager);
await serveMetrics(metrics, config.METRICS_LISTEN, logger);
logger.info(
  { address: boundAddress, advertised, funcletId, bootId, memoryMb: config.FUNCLET_MEMORY_MB, cgroupVersion: cgroups.version, poolSize: config.FUNCLET_POOL_SIZE },
  'listening',
);

onShutdownSignal(
  logger,
  async () => {
    serving = false;
    clearInterval(orphanSweep);
    clearInterval(agentCheck);
    for (const { attachment } of controllers) attachment.stop();
    // Calls in flight get a short grace; then their sandboxes are destroyed, which answers them.
    const drained = shutdown(server, 3_000);
    await settlesWithin(drained, 1_000);
    await manager.destroyAll();
    await netns.destroyAll();
    mounter.stop();
    await drained;
    const leftovers = await cleanHost(hostResources);
    if (leftovers.containers.length > 0) logger.warn({ containers: leftovers.containers }, 'containers survived their destroy');
    stubs.close();
    for (const { client } of controllers) client.close();
    await logPublisher.close();
  },
  () => ({ sandboxes: manager.size }),
);
