import { expect } from 'vitest';
import { PlatformError } from '@faas/errors';

/** The PlatformError a call failed with; fails the test when it succeeded or threw anything else. */
export async function platformError(promise: Promise<unknown>): Promise<PlatformError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PlatformError);
  return error as PlatformError;
}
