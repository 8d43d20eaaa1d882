import { PlatformError } from '@faas/errors';

/**
 * The names every service checks the same way (docs/design.md "Functions"
 * and "Invocations"): one definition, so the edge, the registry, the
 * scheduler and the queue can never disagree on what is valid.
 */
export const FUNCTION_NAME = /^[a-z][a-z0-9-]{0,62}$/;
export const CALL_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function assertFunctionName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new PlatformError(
      'invalid_function_name',
      `function name ${JSON.stringify(name.slice(0, 80))} must be 1-63 characters of a-z, 0-9 and "-", starting with a letter`,
    );
  }
}

/** An empty call id is fine: the controller generates one. */
export function assertCallId(callId: string): void {
  if (callId !== '' && !CALL_ID.test(callId)) {
    throw new PlatformError('bad_request', 'call_id must be 1-128 characters of A-Z, a-z, 0-9, "_", ".", ":" and "-"');
  }
}

/**
 * Secret names: what Kubernetes (and so OpenFaaS users) allow, upper case
 * too; each becomes a file name under /var/openfaas/secrets.
 */
export const SECRET_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,253}$/;
