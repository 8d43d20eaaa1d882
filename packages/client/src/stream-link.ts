import { PlatformError } from '@faas/errors';
import { Coalescer, fromServiceError } from '@faas/protocol';

/**
 * The stream to a peer broke (it died, restarted, or the connection was
 * cut): calls on it may or may not have run. Retriable for the caller.
 */
export class PeerGoneError extends PlatformError {
  constructor(
    readonly peer: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('service_unavailable', message, options);
  }
}

/** Items waiting for a congested stream beyond which new calls are refused rather than queued. */
export const MAX_WAITING_ITEMS = 20_000;

export interface StreamLinkOptions<Request, Response> {
  /** A human name of the peer, for errors ("funclet 127.0.0.1:50053"). */
  readonly peer: string;
  /** Opens the duplex call (the generated client's method). */
  open(): Duplex<Request, Response>;
  /** A new, empty request message. */
  newBatch(): Request;
  onMessage(message: Response): void;
  /** The stream ended or failed; the next send opens a new one. */
  onBroken(error: PeerGoneError): void;
  /**
   * With `connected`: a stream whose channel is not connected this long
   * after it was opened is failed. A host that dropped off the network
   * answers no connection attempt, and grpc-js would wait for TCP's own
   * timeout (minutes) with the calls queued.
   */
  readonly connectTimeoutMs?: number;
  /** Whether the channel under the stream is connected now. */
  readonly connected?: () => boolean;
}

/** What the link needs of a grpc-js client duplex stream. */
export interface Duplex<Request, Response> {
  write(message: Request): boolean;
  end(): void;
  cancel(): void;
  on(event: 'data', listener: (message: Response) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end' | 'drain', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * One long-lived bidirectional stream to a peer, opened when first needed
 * and again after it breaks. What is sent within one event-loop turn leaves
 * as one message (Coalescer).
 */
export class StreamLink<Request, Response> {
  private call?: Duplex<Request, Response>;
  private coalescer?: Coalescer<Request>;
  private closed = false;

  constructor(private readonly options: StreamLinkOptions<Request, Response>) {}

  /** Adds to the next message; throws too_many_requests when the peer is not keeping up. */
  send(fill: (batch: Request) => void): void {
    if (this.closed) throw new PlatformError('service_unavailable', `the stream to ${this.options.peer} is closed`);
    const coalescer = this.coalescer ?? this.openStream();
    if (coalescer.waiting >= MAX_WAITING_ITEMS) {
      throw new PlatformError('too_many_requests', `${this.options.peer} is not keeping up (${coalescer.waiting} messages waiting)`);
    }
    coalescer.add(fill);
  }

  /** True while a stream is open (or being opened). */
  get open(): boolean {
    return this.call !== undefined;
  }

  /** Ends the stream for good; what is still open fails as if the peer had gone. */
  close(): void {
    this.closed = true;
    const call = this.call;
    if (!call) return;
    this.broken(call, new PeerGoneError(this.options.peer, `the stream to ${this.options.peer} was closed`));
    call.cancel();
  }

  private openStream(): Coalescer<Request> {
    const call = this.options.open();
    this.call = call;
    const coalescer = new Coalescer<Request>(
      () => this.options.newBatch(),
      (batch) => call.write(batch),
      (resume) => call.once('drain', resume),
    );
    this.coalescer = coalescer;
    call.on('data', (message) => this.options.onMessage(message));
    call.on('error', (error) => {
      const cause = fromServiceError(error, this.options.peer);
      this.broken(call, new PeerGoneError(this.options.peer, `the stream to ${this.options.peer} broke: ${cause.message}`, { cause: error }));
    });
    call.on('end', () => this.broken(call, new PeerGoneError(this.options.peer, `${this.options.peer} ended the stream`)));
    this.failIfNotConnected(call);
    return coalescer;
  }

  private failIfNotConnected(call: Duplex<Request, Response>): void {
    const { connectTimeoutMs, connected, peer } = this.options;
    if (!connectTimeoutMs || !connected) return;
    const timer = setTimeout(() => {
      if (this.call !== call || connected()) return;
      this.broken(call, new PeerGoneError(peer, `${peer} could not be reached within ${connectTimeoutMs} ms`));
      call.cancel();
    }, connectTimeoutMs);
    timer.unref();
  }

  private broken(call: Duplex<Request, Response>, error: PeerGoneError): void {
    // Events of a stream already replaced (or closed) change nothing.
    if (this.call !== call) return;
    this.call = undefined;
    this.coalescer?.clear();
    this.coalescer = undefined;
    this.options.onBroken(error);
  }
}
