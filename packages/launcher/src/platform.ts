import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureCredentials, rememberAdminToken, type PlatformCredentials } from './credentials.js';
import { createHostNetwork, type HostNetwork, type NamespaceHost } from './host-network.js';
import { startNats, startRedis } from './infrastructure.js';
import type { ManagedProcess } from './managed-process.js';
import { freePort, isPortOpen } from './ports.js';
import { Replica } from './replica.js';
import { ensureServiceCertificates, type ServiceCertificates } from './service-certificates.js';
import { removeWorkDir } from './work-dir.js';
import type { RunningService, ServiceName } from './services.js';

export interface PlatformOptions {
  /** Where NATS data, Redis, stubs blobs and funclet state go; a temp dir by default. */
  readonly workDir?: string;
  /** Fixed ports (for `npm run up`); free ports when omitted (tests). */
  readonly natsPort?: number;
  readonly redisPort?: number;
  readonly httpPort?: number;
  /** gRPC ports of the first controller, stubs, the first funclet and queue-worker; 0 = free. Further replicas get free ports. */
  readonly grpcPorts?: Partial<Record<Exclude<ServiceName, 'httptrigger'>, number>>;
  /** Metrics ports (on loopback) of the first replica of each; the rest, and any not named, get free ports. */
  readonly metricsPorts?: Partial<Record<Exclude<ServiceName, 'httptrigger'>, number>>;
  /** Reuse NATS/Redis already listening on their ports instead of starting them. */
  readonly reuseInfrastructure?: boolean;
  /** Distinguishes this platform's funclets and Redis keys from others'. */
  readonly instanceId?: string;
  /** How many funclets and controllers to run (default 1 each). */
  readonly funclets?: number;
  readonly controllers?: number;
  /**
   * Each funclet in a network namespace of its own, as on separate hosts;
   * the shared services then listen on a bridge those namespaces reach.
   */
  readonly funcletNamespaces?: boolean;
  /** Start a service that exits on its own again, after a backoff (`npm run up`). */
  readonly supervise?: boolean;
  /** Supervision's news: a service that died, and its restart. */
  readonly onEvent?: (text: string) => void;
  /** Extra environment for every service (or per service). */
  readonly env?: NodeJS.ProcessEnv;
  readonly serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  readonly onLine?: (source: string, line: string) => void;
  /**
   * API tokens on the edge (default: on unless FAAS_AUTH=off in the
   * environment). On: the admin token and AWS key pair are made in the work
   * folder at first start and kept.
   */
  readonly auth?: boolean;
  /**
   * Mutual TLS on every gRPC call between the services (default: on when
   * FAAS_MTLS=1 in the environment): a CA and the services' certificate are
   * made in the work folder's tls/ at first start and kept.
   */
  readonly mutualTls?: boolean;
}

/** Where one funclet keeps its state, and the "host" it runs on. */
export interface FuncletHost {
  readonly id: string;
  readonly stateDir: string;
  readonly runcRoot: string;
  /** Its network namespace, when funclets run as separate hosts. */
  readonly namespace?: NamespaceHost;
}

export interface Platform {
  readonly httpUrl: string;
  /** The bootstrap admin token (undefined when auth is off) and where it and the AWS key pair are kept. */
  readonly credentials?: PlatformCredentials;
  /** The CA and certificate the services use with mutual TLS on. */
  readonly certificates?: ServiceCertificates;
  readonly natsUrl: string;
  readonly redisUrl: string;
  /** The first replica's address of each service. */
  readonly addresses: Record<ServiceName, string>;
  /** Every controller's address, as CONTROLLER_ADDRESS lists them. */
  readonly controllerAddresses: readonly string[];
  readonly workDir: string;
  readonly instanceId: string;
  /** The first funclet's id, state and runc root (see `funclets` for all). */
  readonly funcletId: string;
  readonly funcletStateDir: string;
  readonly runcRoot: string;
  readonly funclets: readonly FuncletHost[];
  readonly nats?: ManagedProcess;
  readonly redis?: ManagedProcess;
  /** The first replica of each service, as it runs now. */
  readonly services: Record<ServiceName, RunningService>;
  /** Every replica of a service, as each runs now. */
  replicas(name: ServiceName): RunningService[];
  /** Stops one replica (SIGTERM, or `signal`) and starts it again with the same settings and port; one that was killed is just started. */
  restartService(name: ServiceName, signal?: NodeJS.Signals, index?: number): Promise<void>;
  /** Stops everything this platform started, services first. */
  stop(): Promise<void>;
}

/**
 * Brings up the whole engine as separate processes: NATS and Redis (unless
 * reused), then stubs, the controllers, the funclets, queue-worker and
 * httptrigger, each wired to the others' real addresses.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const workDir = options.workDir ?? mkdtempSync(path.join(os.tmpdir(), 'faas-'));
  const ownsWorkDir = !options.workDir;
  const instanceId = options.instanceId ?? `t${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const natsPort = options.natsPort ?? (await freePort());
  const redisPort = options.redisPort ?? (await freePort());
  const line = (source: string) => (text: string) => options.onLine?.(source, text);
  const funcletCount = Math.max(1, options.funclets ?? 1);
  const controllerCount = Math.max(1, options.controllers ?? 1);

  let nats: ManagedProcess | undefined;
  let redis: ManagedProcess | undefined;
  let network: HostNetwork | undefined;
  const replicas: Record<ServiceName, Replica[]> = { stubs: [], controller: [], funclet: [], 'queue-worker': [], httptrigger: [] };
  const startOrder: Replica[] = [];
  let stopping: Promise<void> | undefined;
  let httpUrl: string | undefined;
  const auth = options.auth ?? process.env.FAAS_AUTH !== 'off';
  const credentials = auth ? ensureCredentials(workDir) : undefined;
  const mutualTls = options.mutualTls ?? /^(1|true|on|yes)$/i.test(process.env.FAAS_MTLS ?? '');
  const certificates = mutualTls ? ensureServiceCertificates(path.join(workDir, 'tls')) : undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      // Reverse start order: the edge first, the funclets' sandboxes before
      // the controllers that placed them, NATS and Redis last.
      for (const replica of [...startOrder].reverse()) await replica.stop();
      await nats?.stop();
      await redis?.stop();
      await network?.destroy();
      if (httpUrl) rememberAdminToken(httpUrl, undefined);
      if (ownsWorkDir) removeWorkDir(workDir);
    })());

  try {
    if (options.funcletNamespaces) network = await createHostNetwork(funcletCount, instanceId);
    // Where the services funclets call listen: loopback, or the bridge their namespaces reach.
    const sharedHost = network?.bridgeAddress ?? '127.0.0.1';
    if (!(options.reuseInfrastructure && (await isPortOpen(natsPort)))) {
      nats = await startNats(natsPort, path.join(workDir, 'nats'), line('nats'), sharedHost);
    }
    if (!(options.reuseInfrastructure && (await isPortOpen(redisPort)))) {
      redis = await startRedis(redisPort, path.join(workDir, 'redis'), line('redis'), { durable: true });
    }

    const ports = options.grpcPorts ?? {};
    const listen = (host: string, port: number | undefined) => `${host}:${port ?? 0}`;
    // A NATS we reuse is the machine's own, on loopback.
    const natsUrl = `nats://${nats ? sharedHost : '127.0.0.1'}:${natsPort}`;
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const firstFuncletId = `${instanceId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    const funcletHosts: FuncletHost[] = Array.from({ length: funcletCount }, (_, i) => {
      const id = i === 0 ? firstFuncletId : `${firstFuncletId}-${i + 1}`;
      const dir = i === 0 ? '' : `-${i + 1}`;
      return { id, stateDir: path.join(workDir, `funclet${dir}`), runcRoot: path.join(workDir, `runc${dir}`), namespace: network?.hosts[i] };
    });
    const common: NodeJS.ProcessEnv = {
      REDIS_URL: redisUrl,
      NATS_URL: natsUrl,
      REDIS_KEY_PREFIX: options.reuseInfrastructure ? 'faas:' : `faas-${instanceId}:`,
      ...certificates?.env,
      ...options.env,
    };
    const launch = async (name: ServiceName, own: NodeJS.ProcessEnv, host?: NamespaceHost) => {
      const index = replicas[name].length;
      const metricsPort = index === 0 && name !== 'httptrigger' ? options.metricsPorts?.[name] : undefined;
      const metrics = metricsPort ? { METRICS_LISTEN: `127.0.0.1:${metricsPort}` } : {};
      const replica = await Replica.start({
        name,
        label: index === 0 ? name : `${name}-${index + 1}`,
        env: { ...common, ...metrics, ...own, ...options.serviceEnv?.[name] },
        onLine: line(index === 0 ? name : `${name}-${index + 1}`),
        start: host && network ? { wrap: (command, args) => network!.commandIn(host, command, args) } : undefined,
        supervise: options.supervise,
        cleansUpAtStart: name === 'funclet',
        onEvent: options.onEvent,
      });
      replicas[name].push(replica);
      startOrder.push(replica);
      return replica.address;
    };

    const stubs = await launch('stubs', { STUBS_LISTEN: listen(sharedHost, ports.stubs), STUBS_DATA_DIR: path.join(workDir, 'stubs') });
    const controllers: string[] = [];
    for (let i = 0; i < controllerCount; i++) {
      controllers.push(await launch('controller', { CONTROLLER_LISTEN: listen(sharedHost, i === 0 ? ports.controller : 0), STUBS_ADDRESS: stubs }));
    }
    const controllerList = controllers.join(',');
    // One at a time: each boots its pool of sandboxes, which takes the machine's cores.
    for (const [i, funclet] of funcletHosts.entries()) {
      await launch(
        'funclet',
        {
          FUNCLET_LISTEN: listen(funclet.namespace?.address ?? '127.0.0.1', i === 0 ? ports.funclet : 0),
          FUNCLET_ID: funclet.id,
          FUNCLET_STATE_DIR: funclet.stateDir,
          FUNCLET_RUNC_ROOT: funclet.runcRoot,
          CONTROLLER_ADDRESS: controllerList,
          STUBS_ADDRESS: stubs,
        },
        funclet.namespace,
      );
    }
    const queueWorker = await launch('queue-worker', { QUEUE_WORKER_LISTEN: listen('127.0.0.1', ports['queue-worker']), CONTROLLER_ADDRESS: controllerList, STUBS_ADDRESS: stubs });
    const http = await launch('httptrigger', {
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(options.httpPort ?? 0),
      CONTROLLER_ADDRESS: controllerList,
      STUBS_ADDRESS: stubs,
      QUEUE_WORKER_ADDRESS: queueWorker,
      ...(credentials
        ? { FAAS_AUTH: 'on', FAAS_ADMIN_TOKEN_FILE: credentials.adminTokenFile, FAAS_LAMBDA_CREDENTIALS_FILE: credentials.awsCredentialsFile }
        : { FAAS_AUTH: 'off' }),
    });
    // HTTPS when the edge was given a certificate (HTTP_TLS_CERT_FILE, from any of the environments it gets).
    const edgeServesHttps = Boolean({ ...process.env, ...common, ...options.serviceEnv?.httptrigger }.HTTP_TLS_CERT_FILE);
    httpUrl = `${edgeServesHttps ? 'https' : 'http'}://${http}`;
    rememberAdminToken(httpUrl, credentials?.adminToken);

    const first = (name: ServiceName) => replicas[name][0]!;
    const services = {} as Record<ServiceName, RunningService>;
    for (const name of Object.keys(replicas) as ServiceName[]) Object.defineProperty(services, name, { get: () => first(name).service, enumerable: true });
    const addresses = Object.fromEntries(Object.keys(replicas).map((name) => [name, first(name as ServiceName).address])) as Record<ServiceName, string>;
    return {
      httpUrl,
      credentials,
      certificates,
      natsUrl,
      redisUrl,
      addresses,
      controllerAddresses: controllers,
      workDir,
      instanceId,
      funcletId: funcletHosts[0]!.id,
      funcletStateDir: funcletHosts[0]!.stateDir,
      runcRoot: funcletHosts[0]!.runcRoot,
      funclets: funcletHosts,
      nats,
      redis,
      services,
      replicas: (name) => replicas[name].map((replica) => replica.service),
      async restartService(name, signal = 'SIGTERM', index = 0) {
        const replica = replicas[name][index];
        if (!replica) throw new Error(`no ${name} replica ${index}`);
        await replica.restart(signal);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
