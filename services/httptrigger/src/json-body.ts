import type { FastifyRequest } from 'fastify';
import { PlatformError } from '@faas/errors';
import { readBody } from './body-reader.js';

/** Definitions (functions, runtimes, triggers) are small; this only stops abuse of the JSON routes. */
const MAX_DEFINITION_JSON_BYTES = 1024 * 1024;

/** A management request's JSON body, parsed or refused with a code. */
export async function readJsonBody(request: FastifyRequest, what: 'function' | 'runtime' | 'trigger' | 'alias' | 'secret' | 'token'): Promise<unknown> {
  const contentType = request.headers['content-type'];
  if (contentType !== undefined && !/json/i.test(contentType)) {
    throw new PlatformError('unsupported_media_type', `send the ${what} as application/json`);
  }
  const bytes = await readBody(request.raw, MAX_DEFINITION_JSON_BYTES);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new PlatformError('bad_request', `the body is not valid JSON: ${(error as Error).message}`);
  }
}
