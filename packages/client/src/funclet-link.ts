import {
  FuncletCallsRequestSchema,
  create,
  grpc,
  type CallOutcome,
  type Client,
  type Funclet,
  type FuncletCallsRequest,
  type FuncletCallsResponse,
  type FunctionConfig,
  type Invocation,
  type SandboxCall,
  type SandboxCreated,
} from '@faas/protocol';
import { PendingCalls, type CallTracking } from './pending-calls.js';
import { StreamLink, type PeerGoneError } from './stream-link.js';

/** A call for a funclet; the link assigns its id. */
export interface SandboxCallInit {
  readonly sandboxId?: string;
  readonly invocation: Invocation;
  readonly timeoutMs: number;
  /** For a cold start placed on this funclet: make the sandbox first. */
  readonly function?: FunctionConfig;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** With `function`: the controller that will own the new sandbox, and its concurrency reservation. */
  readonly owner?: string;
  readonly reservation?: string;
}

export interface FuncletLinkEvents {
  /** The stream broke: every call on it failed with `error`. */
  onGone?(address: string, error: PeerGoneError): void;
}

/**
 * The calls one caller (an edge, a controller) has on one funclet, over a
 * single Funclet.Calls stream.
 */
export class FuncletLink {
  private readonly pending: PendingCalls<CallOutcome>;
  private readonly stream: StreamLink<FuncletCallsRequest, FuncletCallsResponse>;
  /** Cold-start calls waiting to hear that their sandbox is ready. */
  private readonly creations = new Map<number, (sandboxId: string) => void>();

  constructor(
    readonly address: string,
    client: Client<typeof Funclet.method>,
    events: FuncletLinkEvents = {},
    /** A stream whose channel is not connected this long after it opened fails (its calls: unavailable). */
    connectTimeoutMs?: number,
  ) {
    this.pending = new PendingCalls((id) => this.stream.send((batch) => batch.cancelled.push(id)));
    this.stream = new StreamLink({
      peer: `funclet ${address}`,
      open: () => client.calls(),
      newBatch: () => create(FuncletCallsRequestSchema),
      onMessage: (message) => {
        for (const created of message.created) this.sandboxCreated(created);
        for (const outcome of message.outcomes) {
          this.creations.delete(outcome.id);
          this.pending.settle(outcome.id, outcome);
        }
      },
      onBroken: (error) => {
        this.creations.clear();
        this.pending.failAll(error);
        events.onGone?.(address, error);
      },
      connectTimeoutMs,
      connected: () => client.raw.getChannel().getConnectivityState(false) === grpc.connectivityState.READY,
    });
  }

  /** Calls in flight on this funclet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one call. For a cold start (`call.function`), `onCreated` hears of
   * the sandbox as soon as it is ready, before the call's own outcome.
   */
  call(call: SandboxCallInit, tracking: CallTracking, onCreated?: (sandboxId: string) => void): Promise<CallOutcome> {
    return this.pending.start(tracking, (id) => {
      // A literal with every field, not create(): this runs for every call.
      const message: SandboxCall = {
        $typeName: 'faas.v1.SandboxCall',
        id,
        sandboxId: call.sandboxId ?? '',
        invocation: call.invocation,
        timeoutMs: call.timeoutMs,
        function: call.function,
        traceparent: call.traceparent ?? '',
        tracestate: call.tracestate ?? '',
        owner: call.owner ?? '',
        reservation: call.reservation ?? '',
      };
      this.stream.send((batch) => batch.calls.push(message));
      if (onCreated) this.creations.set(id, onCreated);
    });
  }

  private sandboxCreated(created: SandboxCreated): void {
    const listener = this.creations.get(created.callId);
    this.creations.delete(created.callId);
    listener?.(created.sandboxId);
  }

  close(): void {
    this.stream.close();
  }
}
