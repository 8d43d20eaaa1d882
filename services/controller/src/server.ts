import { FUNCLET_ID, FUNCLET_ID_RULE, addService, Controller, type grpc, type ServeOptions } from '@faas/protocol';
import { PlatformError } from '@faas/errors';
import { readTraceHeaders, type Logger } from '@faas/telemetry';
import type { CallRunner } from './call-runner.js';
import { serveEdgeStream } from './edge-stream.js';
import type { FuncletMembership } from './funclet-membership.js';
import type { Placement } from './placement.js';

export interface ControllerDomain {
  readonly runner: CallRunner;
  readonly membership: FuncletMembership;
  readonly placement: Placement;
  readonly heartbeatIntervalMs: number;
  readonly leaseTtlMs: number;
  readonly log: Logger;
}

const HOST_PORT = /^(?:[^\s:]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/;

export function addControllerService(server: grpc.Server, domain: ControllerDomain, options: ServeOptions): void {
  addService(
    server,
    Controller,
    {
      async invoke(request, context) {
        const { result } = await domain.runner.run(request.invocation, {
          deadlineMs: Date.now() + context.remainingMs(),
          signal: context.signal,
          // The caller's trace context, as its gRPC instrumentation sent it.
          trace: traceOf(context.metadata),
        });
        return { result };
      },

      calls(stream) {
        serveEdgeStream(stream, domain);
      },

      async registerFunclet(request) {
        if (!FUNCLET_ID.test(request.funcletId)) throw new PlatformError('bad_request', `funclet_id must be ${FUNCLET_ID_RULE}`);
        if (!HOST_PORT.test(request.address)) throw new PlatformError('bad_request', 'address must be host:port');
        if (!request.bootId) throw new PlatformError('bad_request', 'boot_id is required');
        const funclet = await domain.membership.register({
          id: request.funcletId,
          address: request.address,
          bootId: request.bootId,
          memoryMbTotal: request.memoryMbTotal,
          memoryMbUsed: request.memoryMbUsed,
          runtimes: [...request.runtimes],
        });
        domain.placement.noteFunclet(funclet);
        return { heartbeatIntervalMs: domain.heartbeatIntervalMs };
      },
    },
    options,
  );
}

function traceOf(metadata: grpc.Metadata) {
  return readTraceHeaders((key) => {
    const value = metadata.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  });
}
