import { hostname, totalmem } from 'node:os';
import { loadEnvOrExit, metricsVariables, natsVariables, optional, optionalPerHost, parse, platformVariables, streamVariables, type ConfigOf } from '@faas/config';
import { FUNCLET_ID, FUNCLET_ID_MAX_CHARS, FUNCLET_ID_RULE } from '@faas/protocol';

/** The default id: the host name, made to fit the funclet id rule. */
export function sanitiseFuncletId(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, FUNCLET_ID_MAX_CHARS);
  return cleaned || 'funclet';
}

function funcletId(raw: string): string {
  if (!FUNCLET_ID.test(raw)) throw new Error(`expected ${FUNCLET_ID_RULE}`);
  return raw;
}

function absolutePath(raw: string): string {
  if (!raw.startsWith('/')) throw new Error('expected an absolute path');
  return raw.replace(/\/+$/, '') || '/';
}

/** "nodejs=100,python3=0" → {nodejs: 100, python3: 0}. */
export function parsePoolSizes(raw: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const item of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z0-9]+)=(\d+)$/.exec(item);
    if (!match || Number(match[2]) > MAX_POOL_SIZE) throw new Error(`expected runtime=count (count 0..${MAX_POOL_SIZE}) items separated by commas, got ${JSON.stringify(item)}`);
    sizes[match[1]!] = Number(match[2]);
  }
  return sizes;
}

const MAX_POOL_SIZE = 1024;
const defaultMemoryMb = Math.max(64, Math.floor((totalmem() / (1024 * 1024)) * 0.75));

export const envSchema = {
  FUNCLET_LISTEN: optional('127.0.0.1:50053', parse.address, 'host:port the gRPC server binds (port 0 picks a free port)'),
  FUNCLET_ADVERTISE_ADDRESS: optional('', parse.address, 'host:port the controller should call; default: the listen address with the bound port'),
  FUNCLET_ID: optionalPerHost(sanitiseFuncletId(hostname()), funcletId, 'this funclet\'s id (default: the host name); names its containers and cgroups'),
  CONTROLLER_ADDRESS: optional(['127.0.0.1:50051'], parse.addressList, 'controller gRPC address, or a comma-separated list of its replicas: the funclet keeps each up to date with its sandboxes'),
  STUBS_ADDRESS: optional('127.0.0.1:50052', parse.address, 'stubs gRPC address, for fetching code bundles'),
  FUNCLET_STATE_DIR: optional('/var/lib/faas/funclet', absolutePath, 'code cache (code/<hex>) and sandbox bundles (sandboxes/<id>)'),
  FUNCLET_RUNC_ROOT: optional('/run/faas/runc', absolutePath, 'runc state directory (runc --root)'),
  FUNCLET_MEMORY_MB: optionalPerHost(defaultMemoryMb, parse.integer(64, 16 * 1024 * 1024), 'memory (MiB) all sandboxes together may use; default 75% of RAM'),
  RUNC_PATH: optional('runc', parse.string, 'the runc binary'),
  FUNCLET_NODE_PATH: optionalPerHost(process.execPath, absolutePath, 'node binary run inside nodejs sandboxes (default: the one running the funclet); must live under /usr, /lib, /bin, /sbin or /etc'),
  FUNCLET_REPORT_INTERVAL_MS: optional(1000, parse.integer(100, 60_000), 'how often the funclet reports to each controller when nothing changed (changes are reported at once)'),
  FUNCLET_AGENT_CHECK_MS: optional(10_000, parse.integer(500, 3_600_000), 'sandboxes idle this long have their agent asked, this often, whether it still answers; one that does not within 2 s is recycled'),
  FUNCLET_ORPHAN_TTL_MS: optional(30_000, parse.integer(1_000, 3_600_000), 'an idle sandbox no controller has claimed for this long (its controller went away) is destroyed'),
  FUNCLET_POOL_SIZE: optional(2, parse.integer(0, MAX_POOL_SIZE), 'generic sandboxes kept ready per runtime (0 disables the pool)'),
  FUNCLET_POOL_SIZES: optional<Readonly<Record<string, number>>>({}, parsePoolSizes, 'per-runtime overrides of FUNCLET_POOL_SIZE, e.g. "nodejs=100,python3=0"'),
  FUNCLET_POOL_MEMORY_MB: optional(0, parse.integer(0, 16 * 1024 * 1024), 'memory (MiB) the waiting generic sandboxes together may hold; a runtime\'s pool grows by one for each cold start that found it empty, until they fill it; 0: a quarter of FUNCLET_MEMORY_MB'),
  FUNCLET_POOL_SANDBOX_MB: optional(64, parse.integer(16, 1024), 'memory a waiting pool sandbox gets (and holds in FUNCLET_MEMORY_MB) until it is specialised'),
  FUNCLET_NETNS_SPARE: optional(4, parse.integer(0, 256), 'network namespaces kept prepared beyond those the pool uses'),
  FUNCLET_CODE_CACHE_MB: optional(2048, parse.integer(1, 16 * 1024 * 1024), 'most MiB of unpacked code kept on disk; least recently used bundles no sandbox holds are evicted'),
  ...natsVariables('where function logs go (stream FAAS_LOGS); not needed to start'),
  ...streamVariables,
  FUNCLET_PYTHON_PATH: optional('/usr/bin/python3', absolutePath, 'python3 run inside python3 sandboxes; must live under a directory sandboxes see'),
  ...metricsVariables(9102),
  ...platformVariables,
};

export type FuncletConfig = ConfigOf<typeof envSchema>;

/** The pool's memory budget: FUNCLET_POOL_MEMORY_MB, or a quarter of what the sandboxes may use. */
export function poolBudgetMb(config: Pick<FuncletConfig, 'FUNCLET_POOL_MEMORY_MB' | 'FUNCLET_MEMORY_MB'>): number {
  return config.FUNCLET_POOL_MEMORY_MB || Math.floor(config.FUNCLET_MEMORY_MB / 4);
}

/** Reads the environment, or exits naming every bad variable. */
export function loadFuncletConfig(): FuncletConfig {
  return loadEnvOrExit('funclet', envSchema);
}
