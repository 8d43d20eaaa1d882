/** gRPC handlers of faas.v1.Funclet: translate messages, call the sandbox manager. */
import { PlatformError } from '@faas/errors';
import { Funclet, type grpc, type ServiceImpl } from '@faas/protocol';
import { readTraceHeaders, type Logger } from '@faas/telemetry';
import { serveCallStream } from './call-stream.js';
import { functionToRun } from './function-to-run.js';
import { invocationResult, sandboxCall } from './sandbox-call.js';
import type { SandboxManager } from './sandbox-manager.js';

export function funcletService(manager: SandboxManager, log: Logger): ServiceImpl<typeof Funclet.method> {
  return {
    async createSandbox(request, context) {
      const fn = request.function;
      if (!fn) throw new PlatformError('invalid_function_config', 'CreateSandbox needs a function');
      const outcome = await manager.create(functionToRun(fn), context.signal, { owner: request.owner, reservation: request.reservation });
      return 'initError' in outcome ? { initError: { ...outcome.initError, stack: outcome.initError.stack ?? '' } } : { sandboxId: outcome.sandboxId };
    },

    async invoke(request, context) {
      const invocation = request.invocation;
      if (!invocation) throw new PlatformError('bad_request', 'Invoke needs an invocation');
      // The caller's trace context, as its gRPC instrumentation sent it; the handler continues it.
      const { result, sandboxLost } = await manager.invoke(request.sandboxId, sandboxCall(invocation, traceOf(context.metadata)), request.timeoutMs);
      return { sandboxLost, result: invocationResult(result) };
    },

    calls(stream) {
      serveCallStream(stream, manager, log);
    },

    async destroySandbox(request) {
      await manager.destroy(request.sandboxId);
      return {};
    },

    async listSandboxes() {
      return { sandboxes: manager.list() };
    },

    async prefetchCode(request) {
      await manager.prefetchCode(request.digests.filter(Boolean));
      return {};
    },
  };
}

function traceOf(metadata: grpc.Metadata) {
  return readTraceHeaders((key) => {
    const value = metadata.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  });
}
