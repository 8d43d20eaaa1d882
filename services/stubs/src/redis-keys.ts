/**
 * Stubs' Redis keyspace (docs/design.md). The configured prefix replaces the
 * leading "faas:" so several platforms or test runs can share one Redis.
 */
export interface StubsKeys {
  function(name: string): string;
  readonly functionNames: string;
  code(digest: string): string;
}

export function stubsKeys(prefix: string): StubsKeys {
  return {
    function: (name) => `${prefix}stubs:function:${name}`,
    functionNames: `${prefix}stubs:functions`,
    code: (digest) => `${prefix}stubs:code:${digest}`,
  };
}
