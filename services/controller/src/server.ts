import { addService, Controller, type grpc, type ServeOptions } from '@faas/protocol';
import { readTraceHeaders, type Logger } from '@faas/telemetry';
import type { CallRunner } from './call-runner.js';
import { serveEdgeStream } from './edge-stream.js';
import { serveAttach, type AttachDeps } from './funclet-attach.js';
import type { Placement } from './placement.js';

export interface ControllerDomain extends AttachDeps {
  readonly runner: CallRunner;
  readonly placement: Placement;
  readonly leaseTtlMs: number;
  readonly log: Logger;
}

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

      attach(stream) {
        serveAttach(stream, domain);
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
