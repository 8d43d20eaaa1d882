/**
 * The controller's Redis keyspace (docs/design.md). The configured prefix
 * replaces the leading "faas:" so several platforms or tests share a Redis.
 */
export interface ControllerKeys {
  funclet(id: string): string;
  /** SCAN pattern matching every funclet key, with the prefix's glob characters escaped. */
  readonly funcletPattern: string;
  /** Stubs' pub/sub channel of function changes (stubs owns and publishes it; we only listen). */
  readonly stubsChanges: string;
}

export function controllerKeys(prefix: string): ControllerKeys {
  const escapedPrefix = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  return {
    funclet: (id) => `${prefix}controller:funclet:${id}`,
    funcletPattern: `${escapedPrefix}controller:funclet:*`,
    stubsChanges: `${prefix}stubs:changes`,
  };
}
