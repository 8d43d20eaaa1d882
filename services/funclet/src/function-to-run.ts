import type { FunctionConfig } from '@faas/protocol';
import type { FunctionToRun } from './sandbox-manager.js';

/** The part of a function's config a sandbox is made from. */
export function functionToRun(fn: FunctionConfig): FunctionToRun {
  return {
    name: fn.name,
    version: fn.version,
    publishedVersion: fn.publishedVersion,
    runtime: fn.runtime,
    handler: fn.handler,
    codeDigest: fn.codeDigest,
    memoryMb: fn.memoryMb,
    timeoutSeconds: fn.timeoutSeconds,
    environment: fn.environment,
    networkEgress: fn.networkEgress,
    tmpSizeMb: fn.tmpSizeMb,
    runtimeCodeDigest: fn.runtimeCodeDigest,
    concurrencyPerSandbox: fn.concurrencyPerSandbox,
    secrets: fn.secrets,
  };
}
