/** The edge's auth from its configuration: the bootstrap admin token's hash, stubs' tokens, the throttle. */
import { readFileSync } from 'node:fs';
import { formatQualifier } from '@faas/protocol';
import { EdgeAuth, FailureThrottle, FunctionAccess, TokenVerifier, sha256 } from './auth/index.js';
import type { Clients } from './clients.js';
import type { HttpTriggerConfig } from './config.js';

/** undefined when FAAS_AUTH=off. Exits naming the file when the admin token file cannot be read. */
export function edgeAuthFrom(config: HttpTriggerConfig, clients: Pick<Clients, 'stubs' | 'tokens'>): EdgeAuth | undefined {
  if (config.FAAS_AUTH === 'off') return undefined;
  let bootstrapAdminHash: Buffer | undefined;
  try {
    const text = config.FAAS_ADMIN_TOKEN_FILE ? readFileSync(config.FAAS_ADMIN_TOKEN_FILE, 'utf8').trim() : config.FAAS_ADMIN_TOKEN.trim();
    if (text !== '') {
      if (text.length < 32) throw new Error('the admin token is shorter than 32 characters');
      bootstrapAdminHash = sha256(text);
    }
  } catch (error) {
    process.stderr.write(`httptrigger: cannot use FAAS_ADMIN_TOKEN(_FILE): ${(error as Error).message}\n`);
    process.exit(2);
  }
  return new EdgeAuth({
    verifier: new TokenVerifier({
      bootstrapAdminHash,
      lookup: async (id) => (await clients.tokens.getToken({ id })).token,
      cacheMs: config.AUTH_TOKEN_CACHE_MS,
    }),
    throttle: new FailureThrottle({ maxFailures: config.AUTH_MAX_FAILURES, windowMs: config.AUTH_FAILURE_WINDOW_MS }),
    functions: new FunctionAccess(async (name) => (await clients.stubs.getFunction({ name, qualifier: formatQualifier({ kind: 'latest' }) })).function, config.AUTH_FUNCTION_REFRESH_MS),
  });
}
