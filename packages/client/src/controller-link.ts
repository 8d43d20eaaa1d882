import {
  ControllerCallsRequestSchema,
  create,
  type CallOutcome,
  type Client,
  type Controller,
  type ControllerCallsRequest,
  type ControllerCallsResponse,
  type Lease,
  type LeaseRenewal,
  type PlacementCall,
  type Invocation,
} from '@faas/protocol';
import { PendingCalls, type CallTracking } from './pending-calls.js';
import { StreamLink, type PeerGoneError } from './stream-link.js';

/** A call for the controller to place; the link assigns its id. */
export interface PlacementCallInit {
  readonly invocation: Invocation;
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly wantLease: boolean;
}

export interface ControllerLinkEvents {
  /** Leases renewed (new slots, new time to live). */
  onLeases(leases: readonly Lease[]): void;
  /** Leases the controller wants back. */
  onRevoked(leaseIds: readonly string[]): void;
  /** The stream broke: leases held through it are unknown to whichever controller answers next. */
  onGone?(error: PeerGoneError): void;
}

/** An edge's stream to the controller: placed (relayed) calls, lease renewals, revocations. */
export class ControllerLink {
  private readonly pending: PendingCalls<CallOutcome>;
  private readonly stream: StreamLink<ControllerCallsRequest, ControllerCallsResponse>;

  constructor(client: Client<typeof Controller.method>, events: ControllerLinkEvents) {
    this.pending = new PendingCalls((id) => this.stream.send((batch) => batch.cancelled.push(id)));
    this.stream = new StreamLink({
      peer: 'controller',
      open: () => client.calls(),
      newBatch: () => create(ControllerCallsRequestSchema),
      onMessage: (message) => {
        if (message.leases.length > 0) events.onLeases(message.leases);
        if (message.revoked.length > 0) events.onRevoked(message.revoked);
        for (const outcome of message.outcomes) this.pending.settle(outcome.id, outcome);
      },
      onBroken: (error) => {
        this.pending.failAll(error);
        events.onGone?.(error);
      },
    });
  }

  place(call: PlacementCallInit, tracking: CallTracking): Promise<CallOutcome> {
    return this.pending.start(tracking, (id) => {
      const message: PlacementCall = {
        $typeName: 'faas.v1.PlacementCall',
        id,
        invocation: call.invocation,
        traceparent: call.traceparent ?? '',
        tracestate: call.tracestate ?? '',
        wantLease: call.wantLease,
      };
      this.stream.send((batch) => batch.calls.push(message));
    });
  }

  /** Placed calls still open on the wire. */
  get inFlight(): number {
    return this.pending.size;
  }

  renew(renewals: readonly LeaseRenewal[]): void {
    if (renewals.length > 0) this.stream.send((batch) => batch.renewals.push(...renewals));
  }

  close(): void {
    this.stream.close();
  }
}
