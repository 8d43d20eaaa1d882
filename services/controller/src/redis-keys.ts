/**
 * The controller's Redis keyspace (docs/design.md). The configured prefix
 * replaces the leading "faas:" so several platforms or tests share a Redis.
 */
export interface ControllerKeys {
  /** Sorted set of the reservations of a function's max_concurrency (concurrency-book.ts). */
  reservations(functionName: string): string;
  /** Pub/sub channel of the controllers' signals about functions at their limit (slot-signals.ts). */
  readonly slotSignals: string;
  /** Stubs' pub/sub channel of function changes (stubs owns and publishes it; we only listen). */
  readonly stubsChanges: string;
}

export function controllerKeys(prefix: string): ControllerKeys {
  return {
    reservations: (functionName) => `${prefix}controller:reservations:${functionName}`,
    slotSignals: `${prefix}controller:slots`,
    stubsChanges: `${prefix}stubs:changes`,
  };
}
