import { PlatformError } from '@faas/errors';
import { Stubs, createClient, formatQualifier, parseQualifiedName, type FunctionConfig } from '@faas/protocol';
import type { FunctionTarget, TargetSource } from './cached-functions.js';

/** Longest a function lookup may take when the caller has more time than this. */
const LOOKUP_BUDGET_MS = 5_000;

/** Function configs straight from stubs, the registry's owner. */
export class StubsFunctions implements TargetSource {
  private readonly client;

  constructor(address: string, token: string | undefined) {
    this.client = createClient(Stubs, address, { token, peerName: 'stubs' });
  }

  async resolve(target: string, options: { deadlineMs: number; signal?: AbortSignal }): Promise<FunctionTarget> {
    const { name, qualifier } = parseQualifiedName(target);
    const timeoutMs = Math.max(1, Math.min(LOOKUP_BUDGET_MS, options.deadlineMs - Date.now()));
    const response = await this.client.getFunction({ name, qualifier: formatQualifier(qualifier) }, { timeoutMs, signal: options.signal });
    if (!response.function) throw new PlatformError('bad_gateway', `stubs answered GetFunction(${target}) without a function`);
    return { primary: response.function, additional: response.additionalFunction, additionalWeight: response.alias?.additionalWeight ?? 0 };
  }

  /** Every deployed function (at start, to find those whose reserved concurrency must be kept warm). */
  async list(): Promise<FunctionConfig[]> {
    return (await this.client.listFunctions({}, { timeoutMs: LOOKUP_BUDGET_MS })).functions;
  }

  close(): void {
    this.client.close();
  }
}
