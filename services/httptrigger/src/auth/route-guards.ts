/**
 * Which guard each route gets, decided once when the route is added (an
 * onRoute hook), so no route of the management API can be added without
 * one: under `/v1/`, reads need `read`, changes need `deploy`, tokens need
 * `admin`, and invocations follow the function's own setting, as do
 * `/function/…` and `/async-function/…`. Routes outside these (health, and
 * groups with their own credentials) add their guard themselves.
 */
import type { FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify';
import type { TokenScope } from '@faas/protocol';
import type { EdgeAuth } from './edge-auth.js';

type Guard = { readonly kind: 'scopes'; readonly scopes: TokenScope[] } | { readonly kind: 'function' } | { readonly kind: 'none' };

const INVOCATION_ROUTE = /^\/(function|async-function)\/:name(\/\*)?$|^\/v1\/functions\/:name\/invocations$/;

export function guardFor(method: string, url: string): Guard {
  if (INVOCATION_ROUTE.test(url)) return { kind: 'function' };
  if (!url.startsWith('/v1/')) return { kind: 'none' };
  if (url === '/v1/tokens' || url.startsWith('/v1/tokens/')) return { kind: 'scopes', scopes: ['admin'] };
  if (method === 'GET' || method === 'HEAD') {
    // Whoever may invoke may also learn how its queued calls ended.
    return { kind: 'scopes', scopes: url === '/v1/calls/:callId' ? ['read', 'invoke'] : ['read'] };
  }
  return { kind: 'scopes', scopes: ['deploy'] };
}

/** Call before any route is added. */
export function guardRoutes(app: FastifyInstance, auth: EdgeAuth): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // A route for several methods gets the strictest of their guards.
    const readOnly = methods.every((method) => method.toUpperCase() === 'GET' || method.toUpperCase() === 'HEAD');
    const guard = guardFor(readOnly ? 'GET' : 'POST', route.url);
    const hook: onRequestHookHandler | undefined =
      guard.kind === 'function' ? auth.guardInvocation : guard.kind === 'scopes' ? auth.requireScope(...guard.scopes) : undefined;
    if (!hook) return;
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [hook, ...existing];
  });
}
