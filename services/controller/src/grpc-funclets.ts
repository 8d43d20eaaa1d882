import { FuncletLinks, type CallTracking, type FuncletLinkTimeouts, type SandboxCallInit } from '@faas/client';
import { Funclet, createClient, type CallOutcome, type Client, type FunctionConfig, type FunctionError } from '@faas/protocol';
import type { FuncletCallOptions, FuncletInfo, FuncletPort } from './funclet-port.js';

/**
 * The calls the controller relays to a funclet whose host dropped off the
 * network fail within about 10 s rather than at their deadlines. Laxer than
 * the edges' (@faas/client's invoker.ts): a controller that takes a funclet
 * starved of CPU for gone forgets every sandbox on it, which is what its
 * report silence bound (10 s) guards against too.
 */
const CONTROLLER_FUNCLET_TIMEOUTS: FuncletLinkTimeouts = { keepaliveMs: 5_000, connectTimeoutMs: 5_000 };

/**
 * Funclets over gRPC: calls on one Calls stream per funclet, control calls
 * (destroy, prefetch) unary on a channel of their own; both dropped when the
 * controller forgets the funclet.
 */
export class GrpcFunclets implements FuncletPort {
  private readonly links: FuncletLinks;
  private readonly control = new Map<string, Client<typeof Funclet.method>>();

  constructor(private readonly token: string | undefined) {
    this.links = new FuncletLinks(token, {}, CONTROLLER_FUNCLET_TIMEOUTS);
  }

  call(funclet: FuncletInfo, call: SandboxCallInit, tracking: CallTracking, onCreated?: (sandboxId: string) => void): Promise<CallOutcome> {
    return this.links.get(funclet.address).call(call, tracking, onCreated);
  }

  async createSandbox(
    funclet: FuncletInfo,
    request: { fn: FunctionConfig; owner: string; reservation: string },
    options: FuncletCallOptions,
  ): Promise<{ sandboxId: string } | { initError: FunctionError }> {
    const response = await this.controlClient(funclet).createSandbox({ function: request.fn, owner: request.owner, reservation: request.reservation }, callOptions(options));
    return response.initError ? { initError: response.initError } : { sandboxId: response.sandboxId };
  }

  async destroySandbox(funclet: FuncletInfo, sandboxId: string, options: FuncletCallOptions): Promise<void> {
    await this.controlClient(funclet).destroySandbox({ sandboxId }, callOptions(options));
  }

  async prefetchCode(funclet: FuncletInfo, digests: readonly string[], options: FuncletCallOptions): Promise<void> {
    await this.controlClient(funclet).prefetchCode({ digests: [...digests] }, callOptions(options));
  }

  disconnect(funclet: FuncletInfo): void {
    this.links.forget(funclet.address);
    this.control.get(funclet.address)?.close();
    this.control.delete(funclet.address);
  }

  closeAll(): void {
    this.links.closeAll();
    for (const client of this.control.values()) client.close();
    this.control.clear();
  }

  private controlClient(funclet: FuncletInfo): Client<typeof Funclet.method> {
    let client = this.control.get(funclet.address);
    if (!client) this.control.set(funclet.address, (client = createClient(Funclet, funclet.address, { token: this.token, peerName: `funclet ${funclet.id}` })));
    return client;
  }
}

function callOptions(options: FuncletCallOptions) {
  const timeoutMs = Number.isFinite(options.deadlineMs) ? Math.max(1, options.deadlineMs - Date.now()) : undefined;
  return { timeoutMs, signal: options.signal };
}
