/**
 * The edge's answer to "may this call go on": bearer tokens with scopes for
 * the management API, the function's own `auth` setting for invocations,
 * and a throttle on addresses that keep sending bad credentials. Other route
 * groups use `requireScope` (the console) and `isAdminPassword` (the
 * OpenFaaS routes' basic auth) from here; the Lambda routes check SigV4
 * against the access keys `npm run up` writes (lambda/sigv4.ts).
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { PlatformError } from '@faas/errors';
import type { TokenScope } from '@faas/protocol';
import { bearerTokenOf } from './bearer.js';
import type { FailureThrottle } from './failure-throttle.js';
import type { FunctionAccess } from './function-access.js';
import { allows } from './scopes.js';
import type { Principal, TokenVerifier } from './token-verifier.js';

export interface EdgeAuthParts {
  readonly verifier: TokenVerifier;
  readonly throttle: FailureThrottle;
  readonly functions: FunctionAccess;
}

export class EdgeAuth {
  constructor(private readonly parts: EdgeAuthParts) {}

  /** A Fastify onRequest/preHandler hook: the call needs a token holding one of `scopes`. */
  requireScope(...scopes: TokenScope[]): onRequestHookHandler {
    return async (request, reply) => {
      await this.check(request, reply, scopes);
    };
  }

  /** For HTTP basic auth (OpenFaaS routes): user `admin` with the bootstrap admin token as password. */
  isAdminPassword(user: string, password: string): boolean {
    // Both checks always run, so timing does not tell which one failed.
    const userMatches = user === 'admin';
    return this.parts.verifier.isBootstrapAdmin(password) && userMatches;
  }

  /** Throws unauthenticated, forbidden or too_many_auth_failures; answers the caller's principal. */
  async check(request: FastifyRequest, reply: FastifyReply, scopes: readonly TokenScope[]): Promise<Principal> {
    const address = request.ip;
    const blockedMs = this.parts.throttle.blockedForMs(address);
    if (blockedMs > 0) throw new PlatformError('too_many_auth_failures', 'too many calls with bad credentials from this address', { retryAfterMs: blockedMs });
    let text: string | undefined;
    try {
      text = bearerTokenOf(request.headers.authorization);
    } catch (error) {
      this.parts.throttle.recordFailure(address);
      throw error;
    }
    // No credentials at all is not a guess: it is not counted.
    if (text === undefined) {
      reply.header('www-authenticate', 'Bearer');
      throw new PlatformError('unauthenticated', 'this route needs "Authorization: Bearer <token>"');
    }
    const principal = await this.parts.verifier.verify(text);
    if (!principal) {
      this.parts.throttle.recordFailure(address);
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new PlatformError('unauthenticated', 'the token is unknown, revoked or malformed');
    }
    if (!allows(principal.scopes, scopes)) throw new PlatformError('forbidden', `this route needs a token with scope ${scopes.join(' or ')}`);
    return principal;
  }

  /**
   * For invocation routes: nothing to do for a public function (no await,
   * no lookup once the edge knows it); an invoke token for one whose config
   * says `auth: "token"`.
   */
  readonly guardInvocation: onRequestHookHandler = (request, reply, done) => {
    const name = functionNameOf(request);
    const needsToken = name === undefined ? false : this.parts.functions.needsToken(name);
    if (needsToken === false) return done();
    void Promise.resolve(needsToken)
      .then(async (needed) => {
        if (needed) await this.check(request, reply, ['invoke']);
      })
      .then(() => done(), done);
  };

  /** The edge changed or deleted this function: its setting is asked again. */
  functionChanged(name: string): void {
    this.parts.functions.forget(name);
  }

  tokenRevoked(id: string): void {
    this.parts.verifier.forget(id);
  }
}

/** The unqualified function name of an invocation route (`name`, `name:alias`, `name:3`). */
function functionNameOf(request: FastifyRequest): string | undefined {
  const name = (request.params as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name.split(':', 1)[0] : undefined;
}
