/**
 * NATS and Redis as they run beyond one machine, started on this one: a
 * three-server NATS cluster joined by routes with JetStream on each (Debian's
 * nats-server), and Redis with Sentinel (one master, two replicas, three
 * sentinels; Debian's redis-server and redis-sentinel). `CLUSTER=1 npm run
 * up` and the failover tests run the platform on it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManagedProcess } from './managed-process.js';
import { freePort, waitForPort } from './ports.js';

export const SENTINEL_MASTER_NAME = 'faas';
const HOST = '127.0.0.1';

/** One server of a set, started again by `start` after it was killed. */
export class ClusterNode {
  process: ManagedProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly launch: () => Promise<ManagedProcess>,
  ) {}

  get running(): boolean {
    return this.process !== undefined;
  }

  async start(): Promise<void> {
    if (!this.process) this.process = await this.launch();
  }

  /** kill -9: no shutdown, as when its host dies. */
  async kill(): Promise<void> {
    const process = this.process;
    this.process = undefined;
    await process?.stop('SIGKILL');
  }

  async stop(): Promise<void> {
    const process = this.process;
    this.process = undefined;
    await process?.stop();
  }
}

export interface NatsCluster {
  /** Every server's client URL, as NATS_URL lists them. */
  readonly urls: string[];
  readonly nodes: readonly ClusterNode[];
  /** The node of a server name (as JetStream names a stream's leader). */
  node(serverName: string): ClusterNode;
  stop(): Promise<void>;
}

/** `size` nats-servers named nats-1…, each with JetStream storing under `dataDir`/<name>, routed to each other. */
export async function startNatsCluster(dataDir: string, onLine?: (source: string, line: string) => void, size = 3): Promise<NatsCluster> {
  const clientPorts = await freePorts(size);
  const routePorts = await freePorts(size);
  const routes = routePorts.map((port) => `nats://${HOST}:${port}`).join(',');
  const nodes = clientPorts.map((port, i) => {
    const name = `nats-${i + 1}`;
    const storeDir = path.join(dataDir, name);
    return new ClusterNode(name, port, async () => {
      mkdirSync(storeDir, { recursive: true });
      const server = new ManagedProcess({
        name,
        command: 'nats-server',
        // The route list names this server too; it recognises and skips itself.
        args: ['-js', '-sd', storeDir, '-a', HOST, '-p', String(port), '-n', name, '--cluster_name', 'faas', '--cluster', `nats://${HOST}:${routePorts[i]}`, '--routes', routes],
        onLine: onLine && ((line) => onLine(name, line)),
      });
      await waitOrFail(server, port);
      return server;
    });
  });
  const cluster: NatsCluster = {
    urls: clientPorts.map((port) => `nats://${HOST}:${port}`),
    nodes,
    node(serverName) {
      const node = nodes.find((candidate) => candidate.name === serverName);
      if (!node) throw new Error(`no NATS server named ${serverName}`);
      return node;
    },
    stop: () => Promise.all(nodes.map((node) => node.stop())).then(() => undefined),
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

export interface RedisSentinelSet {
  /** host:port of each sentinel, as REDIS_SENTINELS lists them. */
  readonly sentinels: string[];
  readonly masterName: string;
  /** The master first, then the replicas (as started: a failover changes which is master). */
  readonly servers: readonly ClusterNode[];
  readonly sentinelNodes: readonly ClusterNode[];
  /** The server at `port`. */
  server(port: number): ClusterNode;
  stop(): Promise<void>;
}

/**
 * Three redis-servers (the first the master, two replicas of it) and three
 * redis-sentinels watching them with a quorum of two. A master that does
 * not answer for a second is failed over.
 */
export async function startRedisSentinel(dir: string, onLine?: (source: string, line: string) => void): Promise<RedisSentinelSet> {
  const serverPorts = await freePorts(3);
  const sentinelPorts = await freePorts(3);
  const master = serverPorts[0]!;
  const servers = serverPorts.map((port, i) => {
    const name = i === 0 ? 'redis-master' : `redis-replica-${i}`;
    const serverDir = path.join(dir, name);
    let starts = 0;
    return new ClusterNode(name, port, async () => {
      mkdirSync(serverDir, { recursive: true });
      // A server started again comes back on its own: the sentinels make it
      // a replica of whichever server is master by then.
      const replicaOf = i > 0 && starts === 0 ? ['--replicaof', HOST, String(master)] : [];
      starts += 1;
      const server = new ManagedProcess({
        name,
        command: 'redis-server',
        args: ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', serverDir, ...replicaOf],
        onLine: onLine && ((line) => onLine(name, line)),
      });
      await waitOrFail(server, port);
      return server;
    });
  });
  const sentinelNodes = sentinelPorts.map((port, i) => {
    const name = `redis-sentinel-${i + 1}`;
    const sentinelDir = path.join(dir, name);
    return new ClusterNode(name, port, async () => {
      mkdirSync(sentinelDir, { recursive: true });
      // A sentinel rewrites its configuration file as it learns the set.
      const config = path.join(sentinelDir, 'sentinel.conf');
      writeFileSync(
        config,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${sentinelDir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${master} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 5000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 2`,
          '',
        ].join('\n'),
      );
      const sentinel = new ManagedProcess({ name, command: 'redis-sentinel', args: [config], onLine: onLine && ((line) => onLine(name, line)) });
      await waitOrFail(sentinel, port);
      return sentinel;
    });
  });
  const set: RedisSentinelSet = {
    sentinels: sentinelPorts.map((port) => `${HOST}:${port}`),
    masterName: SENTINEL_MASTER_NAME,
    servers,
    sentinelNodes,
    server(port) {
      const node = servers.find((candidate) => candidate.port === port);
      if (!node) throw new Error(`no Redis server on port ${port}`);
      return node;
    },
    stop: async () => {
      await Promise.all(sentinelNodes.map((node) => node.stop()));
      await Promise.all(servers.map((node) => node.stop()));
    },
  };
  try {
    await servers[0]!.start();
    await Promise.all(servers.slice(1).map((node) => node.start()));
    await Promise.all(sentinelNodes.map((node) => node.start()));
  } catch (error) {
    await set.stop();
    throw error;
  }
  return set;
}

export interface ClusterInfrastructure {
  readonly nats: NatsCluster;
  readonly redis: RedisSentinelSet;
  /** What every service needs to use them (NATS_URL, REDIS_SENTINELS, REDIS_SENTINEL_MASTER, NATS_STREAM_REPLICAS). */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Both sets, under `workDir`/nats-cluster and `workDir`/redis-sentinel. */
export async function startClusterInfrastructure(workDir: string, onLine?: (source: string, line: string) => void): Promise<ClusterInfrastructure> {
  const nats = await startNatsCluster(path.join(workDir, 'nats-cluster'), onLine);
  let redis: RedisSentinelSet;
  try {
    redis = await startRedisSentinel(path.join(workDir, 'redis-sentinel'), onLine);
  } catch (error) {
    await nats.stop();
    throw error;
  }
  return {
    nats,
    redis,
    env: {
      NATS_URL: nats.urls.join(','),
      REDIS_SENTINELS: redis.sentinels.join(','),
      REDIS_SENTINEL_MASTER: redis.masterName,
      NATS_STREAM_REPLICAS: String(nats.nodes.length),
    },
    async stop() {
      await nats.stop();
      await redis.stop();
    },
  };
}

async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function waitOrFail(process: ManagedProcess, port: number): Promise<void> {
  const exited = process.exited.then(({ code, signal }) => {
    throw new Error(`${process.name} exited (code ${code}, signal ${signal}); its output:\n${process.output}`);
  });
  await Promise.race([waitForPort(port, 15_000, process.name, HOST), exited]);
}
