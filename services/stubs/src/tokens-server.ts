/** The Tokens gRPC service, served by stubs beside its registry. */
import { addService, Tokens, type grpc, type ServeOptions } from '@faas/protocol';
import type { TokenRegistry } from './token-registry.js';

export function addTokensService(server: grpc.Server, tokens: TokenRegistry, options: ServeOptions): void {
  addService(
    server,
    Tokens,
    {
      async createToken(request) {
        return tokens.create(request.name, request.scopes);
      },
      async getToken(request) {
        return { token: await tokens.get(request.id) };
      },
      async listTokens() {
        return { tokens: await tokens.list() };
      },
      async revokeToken(request) {
        await tokens.revoke(request.id);
        return {};
      },
    },
    options,
  );
}
