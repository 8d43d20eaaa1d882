// The platform on this host, without Docker: NATS and Redis on their
// standard ports (reused when already running), the five services as
// separate processes, the sample function deployed and invoked once.
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { REPO_ROOT, startClusterInfrastructure, startPlatform } from '@faas/launcher';

const env = process.env;
const workDir = path.resolve(env.FAAS_WORK_DIR ?? path.join(REPO_ROOT, '.run'));
const logDir = path.join(workDir, 'logs');
mkdirSync(logDir, { recursive: true });
const logs = new Map();
const logTo = (source, line) => {
  if (!logs.has(source)) logs.set(source, createWriteStream(path.join(logDir, `${source}.log`), { flags: 'a' }));
  logs.get(source).write(`${line}\n`);
};

const say = (text) => process.stdout.write(`${text}\n`);
const count = (name) => {
  const value = env[name] ?? '1';
  if (!/^[1-9]\d?$/.test(value)) {
    say(`${name} must be a whole number from 1 to 99 (got ${JSON.stringify(value)})`);
    process.exit(2);
  }
  return Number(value);
};
const funclets = count('FUNCLETS');
const controllers = count('CONTROLLERS');

say(`starting the platform (logs in ${path.relative(process.cwd(), logDir) || logDir}/)`);
// CLUSTER=1: a three-server NATS cluster and Redis with Sentinel on free ports, in place of the single NATS and Redis.
const cluster =
  env.CLUSTER === '1'
    ? await startClusterInfrastructure(workDir, logTo).catch((error) => {
        say(`could not start the NATS cluster and Redis Sentinel: ${error.message}`);
        process.exit(1);
      })
    : undefined;
const platform = await startPlatform({
  workDir,
  // With CLUSTER=1 the services are pointed at the sets (cluster.env); these ports only tell startPlatform they run.
  natsPort: cluster ? cluster.nats.nodes[0].port : Number(env.NATS_PORT ?? 4222),
  redisPort: cluster ? cluster.redis.servers[0].port : Number(env.REDIS_PORT ?? 6379),
  httpPort: Number(env.HTTP_PORT ?? 8080),
  grpcPorts: { controller: 50051, stubs: 50052, funclet: 50053, 'queue-worker': 50054 },
  // The services' default metrics ports, as observability/prometheus.yml names them.
  metricsPorts: { controller: 9101, funclet: 9102, stubs: 9103, 'queue-worker': 9104 },
  reuseInfrastructure: true,
  instanceId: 'local',
  funclets,
  controllers,
  // A service that dies is started again after a short backoff, as Compose's restart: unless-stopped.
  supervise: true,
  onEvent: (text) => say(`[${new Date().toISOString()}] ${text}`),
  onLine: logTo,
  env: cluster?.env,
}).catch(async (error) => {
  say(`could not start the platform: ${error.message}`);
  await cluster?.stop();
  process.exit(1);
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  say(`\n${signal}: stopping services, sandboxes${platform.nats || platform.redis || cluster ? ', NATS and Redis' : ''}...`);
  await platform.stop();
  await cluster?.stop();
  say('stopped; nothing left running.');
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

if (cluster) {
  say(`NATS  cluster of ${cluster.nats.urls.length}: ${cluster.nats.urls.join(', ')} (streams at ${cluster.env.NATS_STREAM_REPLICAS} replicas)`);
  say(`Redis master "${cluster.redis.masterName}" and two replicas behind the sentinels ${cluster.redis.sentinels.join(', ')}`);
} else {
  say(`NATS  ${platform.natsUrl}${platform.nats ? '' : ' (already running, reused)'}`);
  say(`Redis ${platform.redisUrl}${platform.redis ? '' : ' (already running, reused)'}`);
}
for (const name of ['stubs', 'controller', 'funclet', 'queue-worker', 'httptrigger']) {
  platform.replicas(name).forEach((service, i) =>
    say(`${(i === 0 ? name : `${name}-${i + 1}`).padEnd(14)} ${service.address}${service.metricsAddress ? `  (metrics ${service.metricsAddress})` : ''}`),
  );
}

// A reused Redis decides for itself whether the registry survives a restart: say so when it would not.
const health = await fetch(`${platform.httpUrl}/healthz`).then((answer) => answer.json()).catch(() => ({}));
if (health.warning) say(`\nWARNING: ${health.warning}`);

if (platform.certificates) say(`\nmutual TLS between the services: CA and certificate in ${path.relative(process.cwd(), path.dirname(platform.certificates.caFile))}/`);

const credentials = platform.credentials;
if (!credentials) say('\nFAAS_AUTH=off: no tokens; anyone who reaches the HTTP port can deploy and run code.');
else if (credentials.created) {
  say(`\nadmin token (kept in ${path.relative(process.cwd(), credentials.adminTokenFile)}, mode 0600; shown this once):\n  ${credentials.adminToken}`);
  say(`AWS access key pair for the Lambda-compatible routes: ${path.relative(process.cwd(), credentials.awsCredentialsFile)}`);
} else say(`\nadmin token: ${path.relative(process.cwd(), credentials.adminTokenFile)}`);
const authHeader = credentials ? { authorization: `Bearer ${credentials.adminToken}` } : {};

try {
  const answer = await deployAndInvokeSample(platform.httpUrl);
  say(`\nsample function "hello" answered: ${answer}`);
} catch (error) {
  say(`\nthe sample function failed: ${error.message}`);
  await stop('error');
}

say(`
The platform is up at ${platform.httpUrl}${credentials ? `
  export FAAS_TOKEN=$(cat ${path.relative(process.cwd(), credentials.adminTokenFile)})
  curl ${platform.httpUrl}/v1/functions -H "authorization: Bearer $FAAS_TOKEN"` : ''}
  curl ${platform.httpUrl}/v1/functions/hello/invocations -H 'content-type: application/json' -d '{"name":"you"}'
  curl '${platform.httpUrl}/function/hello?name=you'
The console: ${platform.httpUrl}/ui/   Metrics: ${platform.httpUrl}/metrics
Press Ctrl-C to stop.`);

/** Zips examples/hello-node, uploads it, deploys `hello`, invokes it once. */
async function deployAndInvokeSample(baseUrl) {
  const dir = path.join(REPO_ROOT, 'examples', 'hello-node');
  const files = {};
  for (const name of readdirSync(dir)) {
    if (statSync(path.join(dir, name)).isFile()) files[name] = readFileSync(path.join(dir, name));
  }
  const upload = await request(`${baseUrl}/v1/code`, { method: 'POST', headers: { 'content-type': 'application/zip', ...authHeader }, body: zipSync(files) });
  await request(`${baseUrl}/v1/functions/hello`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...authHeader },
    body: JSON.stringify({ runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.digest }, memoryMb: 128, timeoutSeconds: 10 }),
  });
  const result = await request(`${baseUrl}/v1/functions/hello/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'faas' }),
  });
  return JSON.stringify(result);
}

async function request(url, init) {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method} ${url} → ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
