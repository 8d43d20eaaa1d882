/**
 * Stubs' Redis keyspace (docs/design.md). The configured prefix replaces the
 * leading "faas:" so several platforms or test runs can share one Redis.
 */
export interface StubsKeys {
  function(name: string): string;
  readonly functionNames: string;
  /** Hash: published version number → the $LATEST JSON it copied. */
  functionVersions(name: string): string;
  /** Hash: "seq" (the last number given) and "rev:<revision>" → the version that revision was published as. */
  functionPublished(name: string): string;
  /** Hash: alias name → FunctionAlias JSON. */
  functionAliases(name: string): string;
  code(digest: string): string;
  runtime(name: string): string;
  readonly runtimeNames: string;
  /**
   * Pub/sub channel: what changed, as a call names it (a function's name for
   * $LATEST, "name:N" for a version, "name:alias" for an alias), or "*" when
   * every function may have (a runtime changed).
   */
  readonly changes: string;
  trigger(name: string): string;
  readonly triggerNames: string;
  /** Pub/sub channel: a trigger's name after it was written or deleted (the queue-worker rebinds it). */
  readonly triggerChanges: string;
  /** Hash: secret name → its sealed value (secret-cipher.ts). */
  readonly secrets: string;
  /** An API token's record (ApiToken JSON, with the hash of its text). */
  token(id: string): string;
  readonly tokenIds: string;
}

export function stubsKeys(prefix: string): StubsKeys {
  return {
    function: (name) => `${prefix}stubs:function:${name}`,
    functionNames: `${prefix}stubs:functions`,
    functionVersions: (name) => `${prefix}stubs:function-versions:${name}`,
    functionPublished: (name) => `${prefix}stubs:function-published:${name}`,
    functionAliases: (name) => `${prefix}stubs:function-aliases:${name}`,
    code: (digest) => `${prefix}stubs:code:${digest}`,
    runtime: (name) => `${prefix}stubs:runtime:${name}`,
    runtimeNames: `${prefix}stubs:runtimes`,
    changes: `${prefix}stubs:changes`,
    trigger: (name) => `${prefix}stubs:trigger:${name}`,
    triggerNames: `${prefix}stubs:triggers`,
    triggerChanges: `${prefix}stubs:trigger-changes`,
    secrets: `${prefix}stubs:secrets`,
    token: (id) => `${prefix}stubs:token:${id}`,
    tokenIds: `${prefix}stubs:tokens`,
  };
}
