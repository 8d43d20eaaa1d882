/**
 * The routes the server has, as Fastify registers them (its onRoute hook),
 * so a known path with the wrong method is told apart (405 with Allow) from
 * a path that does not exist (404) without a hand-kept copy of the table.
 */
import type { FastifyInstance } from 'fastify';

export class RouteTable {
  private readonly routes: Array<{ readonly pattern: RegExp; readonly methods: Set<string> }> = [];

  /** Starts collecting; call before any route is added. */
  watch(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const pattern = patternOf(route.url ?? route.path);
      let entry = this.routes.find((known) => known.pattern.source === pattern.source);
      if (!entry) this.routes.push((entry = { pattern, methods: new Set() }));
      for (const method of methods) entry.methods.add(method.toUpperCase());
    });
  }

  /** The methods `path` accepts, in a stable order; empty when no route has this path. */
  allowedMethods(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes) if (route.pattern.test(path)) for (const method of route.methods) methods.add(method);
    return ORDER.filter((method) => methods.has(method)).concat([...methods].filter((method) => !ORDER.includes(method)).sort());
  }
}

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** `/v1/functions/:name/logs` → /^\/v1\/functions\/[^/]+\/logs$/; a trailing `*` matches the rest. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
