import { PlatformError } from '@faas/errors';
import { randomUUID } from 'node:crypto';
import { Controller, assertCallId, assertQualifiedName, createClient, fromCallFailure, type CallOutcome, type Client, type Invocation, type InvocationResult, type LeaseRenewal } from '@faas/protocol';
import type { TraceHeaders } from '@faas/telemetry';
import type { Cancellation } from './cancellation.js';

import { ControllerLink } from './controller-link.js';
import { FuncletLinks, type FuncletLinkTimeouts } from './funclet-links.js';
import { LeaseTable, type HeldLease } from './lease-table.js';
import { PeerGoneError } from './stream-link.js';

/**
 * `direct`: calls go straight to the sandbox a lease names, through the
 * controller only when no lease has a free slot. `controller`: every call
 * goes through the controller's stream, which relays it (the shape the
 * user first described; slower by one hop).
 */
export type DataPath = 'direct' | 'controller';

export interface InvokerOptions {
  /** The controller, or its replicas: calls are placed by one of them, another when it fails. */
  readonly controllerAddress: string | readonly string[];
  readonly token?: string;
  readonly dataPath: DataPath;
  /** How often leases are renewed in bulk. */
  readonly renewIntervalMs?: number;
  /** Renewal rounds without a call after which a lease is given back. */
  readonly idleRounds?: number;
}

export interface InvokeOptions {
  /** The caller gave up (its client went away). */
  readonly cancellation?: Cancellation;
  /** Absolute deadline (ms since epoch) of the caller, if it has one. */
  readonly deadlineMs?: number;
  /** The caller's span context, continued by the controller, the funclet and the handler. */
  readonly trace?: TraceHeaders;
}

const DEFAULT_RENEW_INTERVAL_MS = 2_000;
/** How long a controller whose stream broke is passed over for placing calls. */
const CONTROLLER_DOWN_MS = 1_000;
/**
 * An edge's calls on a funclet whose host dropped off the network fail
 * within about 6 s (unavailable: the caller tries again, and the controller
 * places it elsewhere), not at their deadlines. grpc-js servers answer
 * pings however often they come.
 */
const EDGE_FUNCLET_TIMEOUTS: FuncletLinkTimeouts = { keepaliveMs: 3_000, connectTimeoutMs: 3_000 };

/** One controller replica as the edge talks to it. */
interface ControllerPeer {
  readonly client: Client<typeof Controller.method>;
  readonly link: ControllerLink;
  downUntilMs: number;
}
const DEFAULT_IDLE_ROUNDS = 5;
/** Extra time a funclet gets beyond the function's timeout to kill the sandbox and answer itself. */
export const FUNCLET_ANSWER_GRACE_MS = 2_000;
/**
 * Longest a placed call may take: the longest function timeout (900 s) plus
 * room for queueing and a cold start. The controller always answers first;
 * this only bounds a controller that never does.
 */
const PLACED_CALL_BUDGET_MS = 960_000;

/**
 * The edge's way to run an invocation (httptrigger, queue-worker, any
 * internal service): straight to a leased sandbox when it can, else placed
 * by the controller, whose answer brings a lease for the next calls. Warm
 * calls cost the controller nothing.
 */
export class Invoker {
  private readonly controllers: ControllerPeer[];
  /** The replica this edge places its calls with while it answers: edges spread over replicas, each sticks to one. */
  private preferred: number;
  private readonly funclets: FuncletLinks;
  private readonly leases: LeaseTable;
  private readonly renewTimer: NodeJS.Timeout;

  constructor(private readonly options: InvokerOptions) {
    const renewIntervalMs = options.renewIntervalMs ?? DEFAULT_RENEW_INTERVAL_MS;
    const addresses = typeof options.controllerAddress === 'string' ? [options.controllerAddress] : [...options.controllerAddress];
    if (addresses.length === 0) throw new Error('an Invoker needs at least one controller address');
    this.leases = new LeaseTable({
      idleRounds: options.idleRounds ?? DEFAULT_IDLE_ROUNDS,
      safetyMarginMs: renewIntervalMs,
      release: (renewal, grantedBy) => this.controllers[grantedBy]?.link.renew([renewal]),
    });
    this.controllers = addresses.map((address, index) => {
      const client = createClient(Controller, address, { token: options.token, peerName: `controller ${address}` });
      const peer: ControllerPeer = {
        client,
        downUntilMs: 0,
        link: new ControllerLink(client, {
          onLeases: (leases) => {
            for (const lease of leases) this.leases.upsert(lease, index);
          },
          onRevoked: (ids) => this.leases.revoke(ids),
          // Its leases stay usable until they expire: the funclet, not the controller, admits calls.
          onGone: () => (peer.downUntilMs = Date.now() + CONTROLLER_DOWN_MS),
        }),
      };
      return peer;
    });
    this.preferred = Math.floor(Math.random() * this.controllers.length);
    this.funclets = new FuncletLinks(
      options.token,
      {
        onGone: (address) => {
          this.leases.funcletGone(address);
          this.funclets.forget(address);
        },
      },
      EDGE_FUNCLET_TIMEOUTS,
    );
    this.renewTimer = setInterval(() => this.renew(), renewIntervalMs);
    this.renewTimer.unref();
  }

  /** Runs one invocation; platform failures throw PlatformError, function failures are in the result. */
  async invoke(invocation: Invocation, options: InvokeOptions = {}): Promise<InvocationResult> {
    // The funclet runs what it is sent: the names are checked here, on every path.
    assertQualifiedName(invocation.functionName);
    assertCallId(invocation.callId);
    if (!invocation.callId) invocation.callId = randomUUID();
    const trace = options.trace ?? NO_TRACE;
    if (this.options.dataPath === 'direct') {
      const held = this.leases.take(invocation.functionName);
      if (held) {
        const direct = await this.callLeased(held, invocation, trace, options);
        if (direct) return direct;
      }
    }
    const index = this.placingController();
    const outcome = await this.controllers[index]!.link.place(
      { invocation, traceparent: trace.traceparent, tracestate: trace.tracestate, wantLease: this.options.dataPath === 'direct' },
      { deadlineMs: Math.min(options.deadlineMs ?? Infinity, Date.now() + PLACED_CALL_BUDGET_MS), cancellation: options.cancellation },
    );
    if (outcome.lease) this.leases.upsert(outcome.lease, index);
    return resultOf(outcome);
  }

  /**
   * A deploy or delete made through this edge: its leases on the function
   * are stale, so the very next call is placed afresh (other edges learn it
   * from the controller's revocation).
   */
  functionChanged(functionName: string): void {
    this.leases.functionChanged(functionName);
  }

  /** Leases held now, for tests and introspection. */
  /** Per function, the sandboxes this invoker holds leases on. */
  leasedSandboxes(): Map<string, number> {
    return this.leases.sandboxesByFunction();
  }

  /** The sandboxes this invoker holds leases on for one function. */
  sandboxesOf(functionName: string): Array<{ sandboxId: string; inFlight: number; slots: number }> {
    return this.leases.sandboxesOf(functionName);
  }

  get heldLeases(): number {
    return this.leases.size;
  }

  /** Calls still open on the wire (to funclets and controllers); a caller that gave up keeps its call here until the funclet answers. */
  get callsInFlight(): number {
    return this.funclets.inFlight + this.controllers.reduce((sum, peer) => sum + peer.link.inFlight, 0);
  }

  close(): void {
    clearInterval(this.renewTimer);
    // Give back what is held, so the controllers need not wait for expiry.
    for (const { renewal, grantedBy } of this.leases.renewals()) this.controllers[grantedBy]?.link.renew([{ ...renewal, slots: 0 }]);
    this.leases.clear();
    setImmediate(() => {
      for (const peer of this.controllers) {
        peer.link.close();
        peer.client.close();
      }
      this.funclets.closeAll();
    });
  }

  /** The preferred controller while it answers; the next one up when its stream broke. */
  private placingController(): number {
    const now = Date.now();
    for (let step = 0; step < this.controllers.length; step++) {
      const index = (this.preferred + step) % this.controllers.length;
      if (this.controllers[index]!.downUntilMs <= now) {
        this.preferred = index;
        return index;
      }
    }
    // All were down a moment ago: try the preferred one again rather than fail without asking.
    return this.preferred;
  }

  /**
   * The call on the leased sandbox; undefined when the funclet refused it
   * before it ran (busy, or the sandbox is gone), so it is placed instead.
   */
  private async callLeased(held: HeldLease, invocation: Invocation, trace: TraceHeaders, options: InvokeOptions): Promise<InvocationResult | undefined> {
    let outcome: CallOutcome;
    try {
      outcome = await this.funclets.get(held.funcletAddress).call(
        { sandboxId: held.sandboxId, invocation, timeoutMs: held.timeoutMs, traceparent: trace.traceparent, tracestate: trace.tracestate },
        {
          deadlineMs: Math.min(options.deadlineMs ?? Infinity, Date.now() + held.timeoutMs + FUNCLET_ANSWER_GRACE_MS),
          cancellation: options.cancellation,
          onClosed: () => this.leases.done(held),
        },
      );
    } catch (error) {
      // A broken stream: the call may have run, so it is not tried again.
      if (error instanceof PeerGoneError) this.leases.funcletGone(held.funcletAddress);
      throw error;
    }
    if (outcome.failure) {
      switch (outcome.failure.code) {
        case 'sandbox_busy':
          return undefined;
        case 'sandbox_not_found':
          this.leases.sandboxGone(held);
          return undefined;
      }
    }
    if (outcome.sandboxLost) this.leases.sandboxGone(held);
    return resultOf(outcome);
  }

  private renew(): void {
    const byController = new Map<number, LeaseRenewal[]>();
    for (const { renewal, grantedBy } of this.leases.renewals()) {
      const list = byController.get(grantedBy);
      if (list) list.push(renewal);
      else byController.set(grantedBy, [renewal]);
    }
    for (const [index, renewals] of byController) this.controllers[index]?.link.renew(renewals);
  }
}

function resultOf(outcome: CallOutcome): InvocationResult {
  if (outcome.failure) throw fromCallFailure(outcome.failure);
  if (!outcome.result) throw new PlatformError('bad_gateway', 'the call ended without a result');
  return outcome.result;
}

/** A call that is part of no trace: the funclet's span starts one. */
const NO_TRACE: TraceHeaders = {};
