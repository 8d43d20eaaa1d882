import { Stubs, createClient, type FunctionConfig } from '@faas/protocol';
import type { FunctionSource } from './call-runner.js';

/** Longest a function lookup may take when the caller has more time than this. */
const LOOKUP_BUDGET_MS = 5_000;

/** Function configs straight from stubs, the registry's owner. */
export class StubsFunctions implements FunctionSource {
  private readonly client;

  constructor(address: string, token: string | undefined) {
    this.client = createClient(Stubs, address, { token, peerName: 'stubs' });
  }

  async get(name: string, options: { deadlineMs: number; signal?: AbortSignal }): Promise<FunctionConfig> {
    const timeoutMs = Math.max(1, Math.min(LOOKUP_BUDGET_MS, options.deadlineMs - Date.now()));
    const response = await this.client.getFunction({ name }, { timeoutMs, signal: options.signal });
    if (!response.function) throw new Error(`stubs answered GetFunction(${name}) without a function`);
    return response.function;
  }

  /** Every deployed function (at start, to find those whose reserved concurrency must be kept warm). */
  async list(): Promise<FunctionConfig[]> {
    return (await this.client.listFunctions({}, { timeoutMs: LOOKUP_BUDGET_MS })).functions;
  }

  close(): void {
    this.client.close();
  }
}
