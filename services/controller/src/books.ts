/**
 * What the controller keeps about sandboxes and leases (docs/design.md
 * "Streams and leases"). A sandbox has `slots` (its function's concurrency
 * per sandbox); every slot in use is held by a lease: one of an edge's,
 * renewed in bulk and used for direct calls, or one of the controller's
 * own, for a single relayed call.
 */
import type { FunctionError } from '@faas/protocol';
import type { FuncletInfo } from './funclet-port.js';

export interface LeaseHolder {
  readonly id: string;
  /** Tells the holder to stop using these leases; it gives them back once its calls on them end. */
  revoke(leaseIds: readonly string[]): void;
}

export interface SandboxRecord {
  readonly id: string;
  /** The funclet as it was when the sandbox was created (address, boot). */
  readonly funclet: FuncletInfo;
  readonly functionName: string;
  readonly version: bigint;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  /** Calls it may run at once: its share of the function's limit, which its funclet enforces. */
  readonly slots: number;
  /** Its reservation in the concurrency book; '' when it holds none. */
  readonly reservation: string;
  readonly createdAtMs: number;
  /** Slots held by leases. */
  used: number;
  /**
   * Calls its funclet last reported beyond those of our leases: calls of an
   * earlier owner's leases, on a sandbox this controller took over.
   */
  untracked: number;
  /** When `used` last fell to 0. */
  idleSinceMs: number;
  /** Set once the sandbox left the books; later releases of it are ignored. */
  forgotten: boolean;
  readonly leases: Set<LeaseRecord>;
}

export interface LeaseRecord {
  readonly id: string;
  readonly sandbox: SandboxRecord;
  holder: LeaseHolder;
  slots: number;
  /** Infinity for the controller's own leases, which last one call. */
  expiresAtMs: number;
  /** The holder was asked to give it back. */
  revoked: boolean;
}

/**
 * A sandbox being made for a cold-start call; others may wait for its free
 * slots from the moment it is decided, before its funclet is even chosen.
 */
export interface Creation {
  /** Chosen just after the creation is decided (it takes a membership read). */
  funclet?: FuncletInfo;
  readonly version: bigint;
  /** Its calls at once: the function's per-sandbox concurrency, or less when the limit's reservation fell short. */
  slots: number;
  /** The reservation, once the concurrency book granted it. */
  reservation?: { readonly id: string; readonly slots: number };
  /** Calls that will have a slot on it once it exists, the creating call's included. */
  reserved: number;
  /** Calls waiting for it besides the creating one. */
  readonly joiners: Array<{ resolve(lease: LeaseRecord): void; reject(error: Error): void }>;
}

/** The function's module did not load: every call waiting on that sandbox gets the same function error. */
export class FunctionInitFailed extends Error {
  override readonly name = 'FunctionInitFailed';
  constructor(readonly functionError: FunctionError) {
    super(functionError.message);
  }
}
