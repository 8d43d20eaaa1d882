import { Funclet, createClient, type Client } from '@faas/protocol';
import { FuncletLink, type FuncletLinkEvents } from './funclet-link.js';

/**
 * How a caller notices a funclet whose host dropped off the network, which
 * sends no reset. Without these its calls wait for their deadlines, and a
 * new stream for TCP's connect timeout (minutes).
 */
export interface FuncletLinkTimeouts {
  /** While calls are open the funclet is pinged this often, and taken for gone when it does not answer within as long again. */
  readonly keepaliveMs?: number;
  /** A stream whose channel is not connected this long after it opened fails. */
  readonly connectTimeoutMs?: number;
}

/**
 * One FuncletLink (and gRPC channel) per funclet address, made on first use
 * and kept while the funclet lives.
 */
export class FuncletLinks {
  private readonly links = new Map<string, { link: FuncletLink; client: Client<typeof Funclet.method> }>();

  constructor(
    private readonly token: string | undefined,
    private readonly events: FuncletLinkEvents = {},
    private readonly timeouts: FuncletLinkTimeouts = {},
  ) {}

  get(address: string): FuncletLink {
    const known = this.links.get(address);
    if (known) return known.link;
    const client = createClient(Funclet, address, { token: this.token, peerName: `funclet ${address}`, keepaliveMs: this.timeouts.keepaliveMs });
    const link = new FuncletLink(address, client, this.events, this.timeouts.connectTimeoutMs);
    this.links.set(address, { link, client });
    return link;
  }

  /** Drops the link to a funclet that is gone; calls still on it fail. */
  forget(address: string): void {
    const known = this.links.get(address);
    if (!known) return;
    this.links.delete(address);
    known.link.close();
    known.client.close();
  }

  /** Calls still open on the wire, over every funclet. */
  get inFlight(): number {
    let count = 0;
    for (const { link } of this.links.values()) count += link.inFlight;
    return count;
  }

  closeAll(): void {
    for (const address of [...this.links.keys()]) this.forget(address);
  }
}
