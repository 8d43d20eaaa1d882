import { ERROR_CODE_KEY, Funclet, createClient, grpc, type FunctionConfig, type Invocation } from '@faas/protocol';
import { isPlatformError } from '@faas/errors';
import {
  FuncletUnreachableError,
  type CreateSandboxOutcome,
  type FuncletCallOptions,
  type FuncletInfo,
  type FuncletInvokeOutcome,
  type FuncletPort,
} from './funclet-port.js';

function connect(address: string, token: string | undefined, funcletId: string) {
  return createClient(Funclet, address, { token, peerName: `funclet ${funcletId}` });
}
type FuncletClient = ReturnType<typeof connect>;

/**
 * Funclets over gRPC: one channel per funclet address, closed when the
 * scheduler forgets the funclet.
 */
export class GrpcFunclets implements FuncletPort {
  private readonly clients = new Map<string, FuncletClient>();

  constructor(private readonly token: string | undefined) {}

  async createSandbox(funclet: FuncletInfo, fn: FunctionConfig, options: FuncletCallOptions): Promise<CreateSandboxOutcome> {
    const response = await this.call(funclet, (client) => client.createSandbox({ function: fn }, callOptions(options)));
    if (response.initError) return { initError: response.initError };
    return { sandboxId: response.sandboxId };
  }

  async invoke(
    funclet: FuncletInfo,
    sandboxId: string,
    invocation: Invocation,
    timeoutMs: number,
    options: FuncletCallOptions,
  ): Promise<FuncletInvokeOutcome> {
    const response = await this.call(funclet, (client) =>
      client.invoke({ sandboxId, invocation, timeoutMs }, callOptions(options)),
    );
    if (!response.result) throw new Error(`funclet ${funclet.id} answered without a result`);
    return { result: response.result, sandboxLost: response.sandboxLost };
  }

  async destroySandbox(funclet: FuncletInfo, sandboxId: string, options: FuncletCallOptions): Promise<void> {
    await this.call(funclet, (client) => client.destroySandbox({ sandboxId }, callOptions(options)));
  }

  async prefetchCode(funclet: FuncletInfo, digests: readonly string[], options: FuncletCallOptions): Promise<void> {
    await this.call(funclet, (client) => client.prefetchCode({ digests: [...digests] }, callOptions(options)));
  }

  disconnect(funclet: FuncletInfo): void {
    this.clients.get(funclet.address)?.close();
    this.clients.delete(funclet.address);
  }

  closeAll(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private async call<T>(funclet: FuncletInfo, work: (client: FuncletClient) => Promise<T>): Promise<T> {
    let client = this.clients.get(funclet.address);
    if (!client) this.clients.set(funclet.address, (client = connect(funclet.address, this.token, funclet.id)));
    try {
      return await work(client);
    } catch (error) {
      if (neverReachedFunclet(error)) throw new FuncletUnreachableError(funclet.id, (error as Error).message, { cause: error });
      throw error;
    }
  }
}

function callOptions(options: FuncletCallOptions) {
  const timeoutMs = Number.isFinite(options.deadlineMs) ? Math.max(1, options.deadlineMs - Date.now()) : undefined;
  return { timeoutMs, signal: options.signal };
}

/**
 * UNAVAILABLE without our error-code trailer means the call never reached a
 * funclet handler (connection refused or reset); a funclet that answers
 * service_unavailable itself is reachable.
 */
function neverReachedFunclet(error: unknown): boolean {
  if (!isPlatformError(error) || error.code !== 'service_unavailable') return false;
  const cause = error.cause as Partial<grpc.ServiceError> | undefined;
  return cause?.code === grpc.status.UNAVAILABLE && (cause.metadata?.get(ERROR_CODE_KEY).length ?? 0) === 0;
}
