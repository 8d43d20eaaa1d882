import type { FunctionConfig, FunctionError, Invocation, InvocationResult } from '@faas/protocol';

/** A funclet as it announced itself (the JSON stored in Redis). */
export interface FuncletInfo {
  readonly id: string;
  readonly address: string;
  readonly bootId: string;
  readonly memoryMbTotal: number;
  readonly memoryMbUsed: number;
  readonly runtimes: readonly string[];
  readonly seenAtMs: number;
}

export type CreateSandboxOutcome = { readonly sandboxId: string } | { readonly initError: FunctionError };

export interface FuncletInvokeOutcome {
  readonly result: InvocationResult;
  readonly sandboxLost: boolean;
}

export interface FuncletCallOptions {
  /** Absolute time (ms since epoch) after which the call is abandoned. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

/**
 * What the scheduler needs from funclets, so it can be tested with a fake.
 * Implementations throw FuncletUnreachableError when the funclet cannot be
 * reached at all, and PlatformError for anything the funclet answered.
 */
export interface FuncletPort {
  createSandbox(funclet: FuncletInfo, fn: FunctionConfig, options: FuncletCallOptions): Promise<CreateSandboxOutcome>;
  invoke(
    funclet: FuncletInfo,
    sandboxId: string,
    invocation: Invocation,
    timeoutMs: number,
    options: FuncletCallOptions,
  ): Promise<FuncletInvokeOutcome>;
  destroySandbox(funclet: FuncletInfo, sandboxId: string, options: FuncletCallOptions): Promise<void>;
  /** Asks the funclet to cache code bundles before a sandbox needs them. */
  prefetchCode(funclet: FuncletInfo, digests: readonly string[], options: FuncletCallOptions): Promise<void>;
  /** Drops the connection to a funclet that is gone or restarted. */
  disconnect(funclet: FuncletInfo): void;
}

export class FuncletUnreachableError extends Error {
  override readonly name = 'FuncletUnreachableError';
  constructor(
    readonly funcletId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
