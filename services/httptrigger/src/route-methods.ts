/**
 * The methods each path accepts, so a known path with the wrong method is
 * told apart (405 with Allow) from a path that does not exist (404).
 * Keep in step with the routes in server.ts.
 */
const ROUTE_METHODS: ReadonlyArray<readonly [RegExp, readonly string[]]> = [
  [/^\/healthz$/, ['GET', 'HEAD']],
  [/^\/v1\/code$/, ['POST']],
  [/^\/v1\/functions$/, ['GET', 'HEAD']],
  [/^\/v1\/functions\/[^/]+$/, ['GET', 'HEAD', 'PUT', 'DELETE']],
  [/^\/v1\/functions\/[^/]+\/invocations$/, ['POST']],
  [/^\/v1\/calls\/[^/]+$/, ['GET', 'HEAD']],
  [/^\/v1\/functions\/[^/]+\/logs$/, ['GET', 'HEAD']],
  [/^\/v1\/runtimes$/, ['GET', 'HEAD']],
  [/^\/v1\/runtimes\/[^/]+$/, ['GET', 'HEAD', 'PUT']],
  [/^\/async-function\/[^/]+(\/.*)?$/, ['POST']],
];

/** The methods `path` accepts; empty when no route has this path. */
export function allowedMethods(path: string): readonly string[] {
  for (const [pattern, methods] of ROUTE_METHODS) if (pattern.test(path)) return methods;
  return [];
}
