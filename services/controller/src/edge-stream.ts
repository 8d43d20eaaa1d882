/**
 * The controller's end of a Controller.Calls stream, one per edge
 * (httptrigger, queue-worker, an internal service): placed calls relayed to
 * their funclet and answered with a lease when the edge wants one, lease
 * renewals in bulk, and revocations pushed whenever placement wants slots
 * back. When the stream ends, whatever the edge held is free.
 */
import { randomUUID } from 'node:crypto';
import { PlatformError } from '@faas/errors';
import {
  CallOutcomeSchema,
  Coalescer,
  ControllerCallsResponseSchema,
  create,
  toCallFailure,
  type Controller,
  type ControllerCallsRequest,
  type ControllerCallsResponse,
  type DuplexStream,
  type PlacementCall,
} from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import type { LeaseHolder } from './books.js';
import type { CallRunner } from './call-runner.js';
import { leaseMessage } from './lease-message.js';
import type { Placement } from './placement.js';

export function serveEdgeStream(
  stream: DuplexStream<typeof Controller.method.calls>,
  deps: { readonly runner: CallRunner; readonly placement: Placement; readonly leaseTtlMs: number; readonly log: Logger },
): void {
  let writable = true;
  const outgoing = new Coalescer<ControllerCallsResponse>(
    () => create(ControllerCallsResponseSchema),
    (batch) => (writable ? stream.write(batch) : true),
    (resume) => stream.once('drain', resume),
  );
  const answer = (fill: (batch: ControllerCallsResponse) => void) => {
    if (writable) outgoing.add(fill);
  };
  const holder: LeaseHolder = {
    id: `edge-${randomUUID()}`,
    revoke: (ids) => answer((batch) => batch.revoked.push(...ids)),
  };
  const open = new Map<number, AbortController>();

  const run = async (call: PlacementCall) => {
    const abort = new AbortController();
    open.set(call.id, abort);
    try {
      const { result, lease } = await deps.runner.run(call.invocation, {
        deadlineMs: Infinity,
        signal: abort.signal,
        trace: { traceparent: call.traceparent, tracestate: call.tracestate },
        leaseTo: call.wantLease ? holder : undefined,
      });
      answer((batch) =>
        batch.outcomes.push(create(CallOutcomeSchema, { id: call.id, result, lease: lease && leaseMessage(lease, deps.leaseTtlMs) })),
      );
    } catch (error) {
      if (!(error instanceof PlatformError)) deps.log.error({ err: error, callId: call.invocation?.callId }, 'a placed call failed unexpectedly');
      answer((batch) => batch.outcomes.push(create(CallOutcomeSchema, { id: call.id, failure: toCallFailure(error) })));
    } finally {
      open.delete(call.id);
    }
  };

  stream.on('data', (batch: ControllerCallsRequest) => {
    for (const id of batch.cancelled) open.get(id)?.abort();
    if (batch.renewals.length > 0) {
      const { renewed, unknown } = deps.placement.renew(holder, batch.renewals);
      if (renewed.length > 0 || unknown.length > 0) {
        answer((reply) => {
          for (const lease of renewed) reply.leases.push(leaseMessage(lease, deps.leaseTtlMs));
          reply.revoked.push(...unknown);
        });
      }
    }
    for (const call of batch.calls) void run(call);
  });
  const gone = () => {
    if (!writable) return;
    writable = false;
    outgoing.clear();
    for (const abort of open.values()) abort.abort();
    deps.placement.holderGone(holder);
  };
  stream.on('end', () => {
    gone();
    stream.end();
  });
  stream.on('cancelled', gone);
  stream.on('error', gone);
}
