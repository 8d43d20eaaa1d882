import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNats, startRedis } from './infrastructure.js';
import type { ManagedProcess } from './managed-process.js';
import { freePort, isPortOpen } from './ports.js';
import { startService, type RunningService, type ServiceName } from './services.js';

export interface PlatformOptions {
  /** Where NATS data, Redis, stubs blobs and funclet state go; a temp dir by default. */
  readonly workDir?: string;
  /** Fixed ports (for `npm run up`); free ports when omitted (tests). */
  readonly natsPort?: number;
  readonly redisPort?: number;
  readonly httpPort?: number;
  /** gRPC ports for controller, stubs, funclet, queue-worker; 0 = free. */
  readonly grpcPorts?: Partial<Record<Exclude<ServiceName, 'httptrigger'>, number>>;
  /** Reuse NATS/Redis already listening on their ports instead of starting them. */
  readonly reuseInfrastructure?: boolean;
  /** Distinguishes this platform's funclet and Redis keys from others'. */
  readonly instanceId?: string;
  /** Extra environment for every service (or per service). */
  readonly env?: NodeJS.ProcessEnv;
  readonly serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  readonly onLine?: (source: string, line: string) => void;
}

export interface Platform {
  readonly httpUrl: string;
  readonly natsUrl: string;
  readonly redisUrl: string;
  readonly addresses: Record<ServiceName, string>;
  readonly workDir: string;
  readonly instanceId: string;
  readonly funcletId: string;
  readonly funcletStateDir: string;
  readonly runcRoot: string;
  readonly nats?: ManagedProcess;
  readonly redis?: ManagedProcess;
  readonly services: Record<ServiceName, RunningService>;
  /** Stops one service (SIGTERM) and starts it again with the same settings. */
  restartService(name: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Stops everything this platform started, services first. */
  stop(): Promise<void>;
}

/**
 * Brings up the whole engine as separate processes: NATS and Redis (unless
 * reused), then stubs, controller, funclet, queue-worker and httptrigger,
 * each wired to the others' real addresses.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const workDir = options.workDir ?? mkdtempSync(path.join(os.tmpdir(), 'faas-'));
  const ownsWorkDir = !options.workDir;
  const instanceId = options.instanceId ?? `t${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const natsPort = options.natsPort ?? (await freePort());
  const redisPort = options.redisPort ?? (await freePort());
  const line = (source: string) => (text: string) => options.onLine?.(source, text);

  let nats: ManagedProcess | undefined;
  let redis: ManagedProcess | undefined;
  const started: RunningService[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      // Reverse start order: the edge first, the funclet's sandboxes before
      // the controller that placed them, NATS and Redis last.
      for (const service of [...started].reverse()) await service.process.stop('SIGTERM', 20_000);
      await nats?.stop();
      await redis?.stop();
      if (ownsWorkDir) rmSync(workDir, { recursive: true, force: true });
    })());

  try {
    if (!(options.reuseInfrastructure && (await isPortOpen(natsPort)))) {
      nats = await startNats(natsPort, path.join(workDir, 'nats'), line('nats'));
    }
    if (!(options.reuseInfrastructure && (await isPortOpen(redisPort)))) {
      redis = await startRedis(redisPort, path.join(workDir, 'redis'), line('redis'));
    }

    const ports = options.grpcPorts ?? {};
    const listen = (port: number | undefined) => `127.0.0.1:${port ?? 0}`;
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const funcletId = `${instanceId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    const funcletStateDir = path.join(workDir, 'funclet');
    const runcRoot = path.join(workDir, 'runc');
    const common: NodeJS.ProcessEnv = {
      REDIS_URL: redisUrl,
      NATS_URL: natsUrl,
      REDIS_KEY_PREFIX: options.reuseInfrastructure ? 'faas:' : `faas-${instanceId}:`,
      ...options.env,
    };
    const envFor = (name: ServiceName, own: NodeJS.ProcessEnv) => ({ ...common, ...own, ...options.serviceEnv?.[name] });

    const services = {} as Record<ServiceName, RunningService>;
    const settings = {} as Record<ServiceName, NodeJS.ProcessEnv>;
    const launch = async (name: ServiceName, own: NodeJS.ProcessEnv) => {
      settings[name] = envFor(name, own);
      services[name] = await startService(name, settings[name], line(name));
      started.push(services[name]);
      return services[name].address;
    };

    const stubs = await launch('stubs', { STUBS_LISTEN: listen(ports.stubs), STUBS_DATA_DIR: path.join(workDir, 'stubs') });
    const controller = await launch('controller', { CONTROLLER_LISTEN: listen(ports.controller), STUBS_ADDRESS: stubs });
    await launch('funclet', {
      FUNCLET_LISTEN: listen(ports.funclet),
      FUNCLET_ID: funcletId,
      FUNCLET_STATE_DIR: funcletStateDir,
      FUNCLET_RUNC_ROOT: runcRoot,
      CONTROLLER_ADDRESS: controller,
      STUBS_ADDRESS: stubs,
    });
    const queueWorker = await launch('queue-worker', {
      QUEUE_WORKER_LISTEN: listen(ports['queue-worker']),
      CONTROLLER_ADDRESS: controller,
      STUBS_ADDRESS: stubs,
    });
    const http = await launch('httptrigger', {
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(options.httpPort ?? 0),
      CONTROLLER_ADDRESS: controller,
      STUBS_ADDRESS: stubs,
      QUEUE_WORKER_ADDRESS: queueWorker,
    });

    const addresses = Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.address])) as Record<ServiceName, string>;
    return {
      httpUrl: `http://${http}`,
      natsUrl,
      redisUrl,
      addresses,
      workDir,
      instanceId,
      funcletId,
      funcletStateDir,
      runcRoot,
      nats,
      redis,
      services,
      async restartService(name, signal = 'SIGTERM') {
        const old = services[name];
        await old.process.stop(signal);
        started.splice(started.indexOf(old), 1);
        // Same address as before, so that the other services' clients reconnect.
        const env = { ...settings[name] };
        const [, port] = old.address.split(':');
        for (const key of ['STUBS_LISTEN', 'CONTROLLER_LISTEN', 'FUNCLET_LISTEN', 'QUEUE_WORKER_LISTEN']) {
          if (env[key]) env[key] = `127.0.0.1:${port}`;
        }
        if (name === 'httptrigger') env.HTTP_PORT = port;
        services[name] = await startService(name, env, line(name));
        started.push(services[name]);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
