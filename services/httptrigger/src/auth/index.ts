export { EdgeAuth } from './edge-auth.js';
export { FailureThrottle } from './failure-throttle.js';
export { FunctionAccess } from './function-access.js';
export { guardRoutes } from './route-guards.js';
export { TokenVerifier, sha256, type Principal } from './token-verifier.js';
