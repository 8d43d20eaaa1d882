/**
 * The funclet's end of a Funclet.Calls stream (docs/design.md "Streams and
 * leases"): each message brings calls and cancellations, each call runs in
 * its sandbox (made first for a cold start), and outcomes leave in batches
 * as they finish, in whatever order they finish.
 */
import { PlatformError } from '@faas/errors';
import {
  CallOutcomeSchema,
  Coalescer,
  FuncletCallsResponseSchema,
  SandboxCreatedSchema,
  toCallFailure,
  create,
  type DuplexStream,
  type Funclet,
  type FuncletCallsRequest,
  type FuncletCallsResponse,
  type SandboxCall,
} from '@faas/protocol';
import { SpanStatusCode, startCallSpan, trace, type Logger } from '@faas/telemetry';

import { functionToRun } from './function-to-run.js';
import { invocationResult, sandboxCall } from './sandbox-call.js';
import type { SandboxManager } from './sandbox-manager.js';

const tracer = trace.getTracer('funclet');

export function serveCallStream(stream: DuplexStream<typeof Funclet.method.calls>, manager: SandboxManager, log: Logger): void {
  let writable = true;
  let ended = false;
  /** Calls not answered yet; cold starts keep their abort, to stop making a sandbox nobody waits for. */
  const open = new Map<number, AbortController | undefined>();
  const outgoing = new Coalescer<FuncletCallsResponse>(
    () => create(FuncletCallsResponseSchema),
    (batch) => (writable ? stream.write(batch) : true),
    (resume) => stream.once('drain', resume),
  );

  const answer = (fill: (batch: FuncletCallsResponse) => void) => {
    if (writable) outgoing.add(fill);
  };
  const finishIfDone = () => {
    if (ended && open.size === 0 && writable) {
      writable = false;
      // Let the last batch leave first.
      setImmediate(() => stream.end());
    }
  };

  const run = async (call: SandboxCall) => {
    const abort = call.sandboxId ? undefined : new AbortController();
    open.set(call.id, abort);
    const invocation = call.invocation;
    const { span, next } = startCallSpan(tracer, 'funclet call', call, { 'faas.function': invocation?.functionName ?? '', 'faas.call_id': invocation?.callId ?? '' });
    try {
      if (!invocation) throw new PlatformError('bad_request', 'a call needs an invocation');
      let sandboxId = call.sandboxId;
      if (!sandboxId) {
        if (!call.function) throw new PlatformError('bad_request', 'a call without a sandbox needs the function to make one for');
        const made = await manager.create(functionToRun(call.function), abort!.signal, { owner: call.owner, reservation: call.reservation });
        if ('initError' in made) {
          const result = invocationResult({
            callId: invocation.callId,
            result: new Uint8Array(0),
            functionError: made.initError,
            durationSeconds: 0,
            functionVersion: call.function.version,
            sandboxId: '',
            coldStart: true,
          });
          answer((batch) => batch.outcomes.push(create(CallOutcomeSchema, { id: call.id, result })));
          return;
        }
        sandboxId = made.sandboxId;
        answer((batch) => batch.created.push(create(SandboxCreatedSchema, { callId: call.id, sandboxId })));
      }
      const { result, sandboxLost } = await manager.invoke(sandboxId, sandboxCall(invocation, next), call.timeoutMs, invocation.functionName);
      if (result.functionError) span.setStatus({ code: SpanStatusCode.ERROR, message: result.functionError.type });
      answer((batch) => batch.outcomes.push(create(CallOutcomeSchema, { id: call.id, result: invocationResult(result), sandboxLost })));
    } catch (error) {
      const failure = toCallFailure(error);
      if (!(error instanceof PlatformError)) log.error({ err: error, callId: invocation?.callId }, 'a call failed unexpectedly');
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.code });
      answer((batch) => batch.outcomes.push(create(CallOutcomeSchema, { id: call.id, failure })));
    } finally {
      span.end();
      open.delete(call.id);
      finishIfDone();
    }
  };

  stream.on('data', (batch: FuncletCallsRequest) => {
    // A cancelled call still answers when its handler ends: its slot is busy until then.
    for (const id of batch.cancelled) open.get(id)?.abort();
    for (const call of batch.calls) void run(call);
  });
  stream.on('end', () => {
    ended = true;
    finishIfDone();
  });
  const gone = () => {
    writable = false;
    outgoing.clear();
    for (const abort of open.values()) abort?.abort();
  };
  stream.on('cancelled', gone);
  stream.on('error', gone);
}
