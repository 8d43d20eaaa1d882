import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@faas/telemetry';

export interface NatsLinkOptions {
  /** One server or several of one cluster: the client tries each, and learns the cluster's others from the one it reaches. */
  readonly servers: readonly string[];
  /** The connection's name, as NATS monitoring shows it. */
  readonly name: string;
  readonly logger: Logger;
  /**
   * Runs on the first connection and after every reconnect, before the link
   * counts as connected: the place to (re)create a stream a restarted NATS
   * may have lost. A failure is logged; the link counts as connected anyway.
   */
  readonly onConnect?: (connection: NatsConnection) => Promise<void>;
  /** Stands in for @nats-io/transport-node's connect in tests. */
  readonly connect?: (options: ConnectionOptions) => Promise<NatsConnection>;
}

/**
 * A NATS connection made in the background and remade for as long as the
 * service runs, so that NATS is never needed to start: callers ask
 * `connected` (or await `ready`) instead of failing at boot.
 */
export class NatsLink {
  /** The connection once NATS was first reached; rejects when that never happens. */
  readonly ready: Promise<NatsConnection>;
  private current: NatsConnection | undefined;
  private isConnected = false;
  private closed = false;

  constructor(private readonly options: NatsLinkOptions) {
    const connectTo = options.connect ?? connect;
    this.ready = connectTo({ servers: [...options.servers], name: options.name, waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1_000 })
      .then(async (connection) => {
        if (this.closed) {
          await connection.close();
          throw new Error('the NATS link was closed before it connected');
        }
        this.current = connection;
        await this.prepare(connection);
        this.isConnected = !this.closed;
        options.logger.info({ nats: options.servers.join(','), connection: options.name }, 'nats connected');
        void this.follow(connection);
        return connection;
      })
      .catch((error: unknown) => {
        if (!this.closed) options.logger.error({ err: error, connection: options.name }, 'nats connection failed for good');
        throw error;
      });
    // Most services never await `ready`: its failure is logged above, not left unhandled.
    this.ready.catch(() => undefined);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** The connection while it is up; undefined before the first connect, while NATS is away, and after close. */
  get connection(): NatsConnection | undefined {
    return this.isConnected ? this.current : undefined;
  }

  /** Sends what is buffered and closes; a link closed before it connected never connects. */
  async close(): Promise<void> {
    this.closed = true;
    this.isConnected = false;
    const connection = this.current;
    if (!connection) return;
    await connection.drain().catch(async (error: unknown) => {
      this.options.logger.warn({ err: error, connection: this.options.name }, 'nats drain failed');
      await connection.close().catch(() => undefined);
    });
  }

  private async follow(connection: NatsConnection): Promise<void> {
    const { logger, name } = this.options;
    for await (const status of connection.status()) {
      if (this.closed) return;
      if (status.type === 'disconnect') {
        this.isConnected = false;
        logger.warn({ server: status.server, connection: name }, 'nats disconnected');
      } else if (status.type === 'reconnect') {
        await this.prepare(connection);
        this.isConnected = !this.closed;
        logger.info({ server: status.server, connection: name }, 'nats reconnected');
      }
    }
  }

  private async prepare(connection: NatsConnection): Promise<void> {
    try {
      await this.options.onConnect?.(connection);
    } catch (error) {
      this.options.logger.warn({ err: error, connection: this.options.name }, 'nats connected, but preparing it failed');
    }
  }
}

export function connectNats(options: NatsLinkOptions): NatsLink {
  return new NatsLink(options);
}
