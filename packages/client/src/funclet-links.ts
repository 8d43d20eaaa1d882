import { Funclet, createClient, type Client } from '@faas/protocol';
import { FuncletLink, type FuncletLinkEvents } from './funclet-link.js';

/**
 * A funclet whose host drops off the network sends no reset: without pings,
 * the calls on its stream would wait for their deadlines. With these, they
 * fail within about twice this (unavailable), and the caller tries again
 * elsewhere. HTTP/2 pings cost a few bytes; grpc-js servers answer them
 * however often they come.
 */
const FUNCLET_KEEPALIVE_MS = 2_000;

/**
 * One FuncletLink (and gRPC channel) per funclet address, made on first use
 * and kept while the funclet lives.
 */
export class FuncletLinks {
  private readonly links = new Map<string, { link: FuncletLink; client: Client<typeof Funclet.method> }>();

  constructor(
    private readonly token: string | undefined,
    private readonly events: FuncletLinkEvents = {},
  ) {}

  get(address: string): FuncletLink {
    const known = this.links.get(address);
    if (known) return known.link;
    const client = createClient(Funclet, address, { token: this.token, peerName: `funclet ${address}`, keepaliveMs: FUNCLET_KEEPALIVE_MS });
    const link = new FuncletLink(address, client, this.events);
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
