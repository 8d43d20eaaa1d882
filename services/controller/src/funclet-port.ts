import type { CallTracking, SandboxCallInit } from '@faas/client';
import type { CallOutcome, FunctionConfig, FunctionError } from '@faas/protocol';

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

export interface FuncletCallOptions {
  /** Absolute time (ms since epoch) after which the call is abandoned. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

/**
 * What the controller needs from funclets, so placement and the call runner
 * can be tested with a fake. `call` rides the funclet's Calls stream and
 * fails with PeerGoneError when the stream breaks; the control calls throw
 * PlatformError.
 */
export interface FuncletPort {
  /** One call on the funclet's stream; for a cold start `onCreated` hears of the new sandbox first. */
  call(funclet: FuncletInfo, call: SandboxCallInit, tracking: CallTracking, onCreated?: (sandboxId: string) => void): Promise<CallOutcome>;
  /** Makes a sandbox without a call (to keep reserved concurrency warm); its id, or the function's init error. */
  createSandbox(funclet: FuncletInfo, request: { fn: FunctionConfig; owner: string; reservation: string }, options: FuncletCallOptions): Promise<{ sandboxId: string } | { initError: FunctionError }>;
  destroySandbox(funclet: FuncletInfo, sandboxId: string, options: FuncletCallOptions): Promise<void>;
  /** Asks the funclet to cache code bundles before a sandbox needs them. */
  prefetchCode(funclet: FuncletInfo, digests: readonly string[], options: FuncletCallOptions): Promise<void>;
  /** Drops the connections to a funclet that is gone or restarted. */
  disconnect(funclet: FuncletInfo): void;
}
