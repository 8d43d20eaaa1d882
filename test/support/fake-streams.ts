/**
 * The Calls streams of fake controllers and funclets in integration tests,
 * answered call by call by the same functions a fake's unary RPCs use.
 */
import {
  CallOutcomeSchema,
  ControllerCallsResponseSchema,
  FuncletCallsResponseSchema,
  SandboxCreatedSchema,
  create,
  grpc,
  toCallFailure,
  type Controller,
  type DuplexStream,
  type Funclet,
  type FunctionConfig,
  type Invocation,
  type InvocationResult,
  type MessageInitShape,
  type InvocationResultSchema,
} from '@faas/protocol';

type ResultInit = MessageInitShape<typeof InvocationResultSchema>;

/** The call's trace context as the unary RPC's metadata would have carried it. */
function metadataOf(traceparent: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (traceparent) metadata.set('traceparent', traceparent);
  return metadata;
}

/** Controller.Calls for a fake controller: each placed call answered by `invoke` (no leases are granted). */
export function placedCallsAnsweredBy(
  invoke: (request: { invocation?: Invocation }, context: { metadata: grpc.Metadata }) => Promise<{ result?: ResultInit | InvocationResult }>,
) {
  return (stream: DuplexStream<typeof Controller.method.calls>) => {
    stream.on('data', (batch) => {
      for (const call of batch.calls) {
        invoke({ invocation: call.invocation }, { metadata: metadataOf(call.traceparent) }).then(
          ({ result }) => stream.write(create(ControllerCallsResponseSchema, { outcomes: [create(CallOutcomeSchema, { id: call.id, result: result as ResultInit })] })),
          (error: unknown) => stream.write(create(ControllerCallsResponseSchema, { outcomes: [create(CallOutcomeSchema, { id: call.id, failure: toCallFailure(error) })] })),
        );
      }
    });
    stream.on('end', () => stream.end());
    stream.on('error', () => {});
  };
}

interface FakeFuncletRpcs {
  createSandbox(request: { function?: FunctionConfig; owner?: string; reservation?: string }): Promise<{ sandboxId?: string; initError?: { type: string; message: string } }>;
  invoke(request: { sandboxId: string; invocation?: Invocation; timeoutMs: number }): Promise<{ result?: ResultInit; sandboxLost?: boolean }>;
}

/** Funclet.Calls for a fake funclet: cold starts made by its createSandbox, calls run by its invoke. */
export function sandboxCallsAnsweredBy(rpcs: FakeFuncletRpcs) {
  return (stream: DuplexStream<typeof Funclet.method.calls>) => {
    const answer = (fill: MessageInitShape<typeof FuncletCallsResponseSchema>) => stream.write(create(FuncletCallsResponseSchema, fill));
    stream.on('data', (batch) => {
      for (const call of batch.calls) {
        void (async () => {
          try {
            let sandboxId = call.sandboxId;
            if (!sandboxId) {
              const made = await rpcs.createSandbox({ function: call.function, owner: call.owner, reservation: call.reservation });
              if (made.initError) {
                answer({ outcomes: [{ id: call.id, result: { functionError: made.initError, coldStart: true } }] });
                return;
              }
              sandboxId = made.sandboxId!;
              answer({ created: [create(SandboxCreatedSchema, { callId: call.id, sandboxId })] });
            }
            const { result, sandboxLost } = await rpcs.invoke({ sandboxId, invocation: call.invocation, timeoutMs: call.timeoutMs });
            answer({ outcomes: [{ id: call.id, result: { sandboxId, ...result }, sandboxLost: sandboxLost ?? false }] });
          } catch (error) {
            answer({ outcomes: [{ id: call.id, failure: toCallFailure(error) }] });
          }
        })();
      }
    });
    stream.on('end', () => stream.end());
    stream.on('error', () => {});
  };
}

/** Controller.Calls for a fake that never places calls. */
export function noPlacedCalls(stream: DuplexStream<typeof Controller.method.calls>): void {
  stream.on('end', () => stream.end());
  stream.on('error', () => {});
}

/** Controller.Attach for a fake controller no funclet is meant to join: the stream stays open and silent. */
export function noAttachments(stream: DuplexStream<typeof Controller.method.attach>): void {
  stream.on('end', () => stream.end());
  stream.on('error', () => {});
}
