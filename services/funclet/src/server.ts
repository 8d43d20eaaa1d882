/** gRPC handlers of faas.v1.Funclet: translate messages, call the sandbox manager. */
import { PlatformError } from '@faas/errors';
import { Funclet, InvocationKind, type Invocation, type ServiceImpl } from '@faas/protocol';
import { injectTraceContext } from '@faas/telemetry';
import type { SandboxManager } from './sandbox-manager.js';

export function funcletService(manager: SandboxManager): ServiceImpl<typeof Funclet.method> {
  return {
    async createSandbox(request, context) {
      const fn = request.function;
      if (!fn) throw new PlatformError('invalid_function_config', 'CreateSandbox needs a function');
      const outcome = await manager.create({
        name: fn.name,
        version: fn.version,
        runtime: fn.runtime,
        handler: fn.handler,
        codeDigest: fn.codeDigest,
        memoryMb: fn.memoryMb,
        timeoutSeconds: fn.timeoutSeconds,
        environment: fn.environment,
        networkEgress: fn.networkEgress,
        tmpSizeMb: fn.tmpSizeMb,
        runtimeCodeDigest: fn.runtimeCodeDigest,
      }, context.signal);
      return 'initError' in outcome ? { initError: { ...outcome.initError, stack: outcome.initError.stack ?? '' } } : { sandboxId: outcome.sandboxId };
    },

    async invoke(request) {
      const invocation = request.invocation;
      if (!invocation) throw new PlatformError('bad_request', 'Invoke needs an invocation');
      const { result, sandboxLost } = await manager.invoke(request.sandboxId, toCall(invocation), request.timeoutMs);
      return {
        sandboxLost,
        result: {
          ...result,
          functionError: result.functionError && { ...result.functionError, stack: result.functionError.stack ?? '' },
        },
      };
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

function toCall(invocation: Invocation) {
  const http = invocation.http;
  // The gRPC server span is active here; the handler continues its trace.
  const trace: Record<string, string> = {};
  injectTraceContext({ set: (key, value) => (trace[key] = value) });
  return {
    wantLogTail: invocation.wantLogTail,
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
    callId: invocation.callId,
    kind: invocation.kind === InvocationKind.HTTP ? ('http' as const) : ('event' as const),
    payload: invocation.payload,
    contentType: invocation.contentType,
    http: http && { method: http.method, path: http.path, rawQuery: http.rawQuery, headers: http.headers },
  };
}
