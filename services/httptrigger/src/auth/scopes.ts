/**
 * What each scope allows. `admin` allows everything, token management
 * included; `deploy` changes functions, code, runtimes and triggers and may
 * also read and invoke (a deployer tests what it deployed); `invoke` calls
 * functions that ask for a token and reads its calls' results; `read` sees
 * configs, logs and call records.
 */
import type { TokenScope } from '@faas/protocol';

const IMPLIED: Record<TokenScope, readonly TokenScope[]> = {
  admin: ['admin', 'deploy', 'invoke', 'read'],
  deploy: ['deploy', 'invoke', 'read'],
  invoke: ['invoke'],
  read: ['read'],
};

/** Whether a token holding `held` may do what needs any one of `needed`. */
export function allows(held: readonly string[], needed: readonly TokenScope[]): boolean {
  return held.some((scope) => Object.hasOwn(IMPLIED, scope) && IMPLIED[scope as TokenScope].some((granted) => needed.includes(granted)));
}
