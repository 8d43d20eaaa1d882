/**
 * What a custom runtime's bundle must hold, checked when the runtime is
 * registered rather than when its first sandbox fails to start: a
 * non-empty `bootstrap` at the top level (the program the sandbox runs),
 * and a `runtime.json` of `{"name", "description"}` whose name is the one
 * it is registered under. Every problem is an invalid_code_bundle naming the
 * file or field at fault.
 */
import { PlatformError } from '@faas/errors';
import type { TopLevelFile } from './bundle-files.js';

export const BOOTSTRAP = 'bootstrap';
export const MANIFEST = 'runtime.json';
/** Largest runtime.json read. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
export const MAX_DESCRIPTION_CHARS = 1024;

const FIELDS = ['name', 'description'];

/** What readTopLevelFiles is asked for: the bootstrap's presence, the manifest's text. */
export const RUNTIME_BUNDLE_FILES: ReadonlyMap<string, number> = new Map([
  [BOOTSTRAP, 0],
  [MANIFEST, MAX_MANIFEST_BYTES],
]);

export interface RuntimeManifest {
  readonly name: string;
  readonly description: string;
}

export function checkRuntimeBundle(files: ReadonlyMap<string, TopLevelFile>, registeredName: string): RuntimeManifest {
  const invalid = (message: string) => new PlatformError('invalid_code_bundle', message);
  const bootstrap = files.get(BOOTSTRAP);
  if (!bootstrap) throw invalid(`a custom runtime's bundle needs a file named ${BOOTSTRAP} at its top level: the program its sandboxes start`);
  if (bootstrap.size === 0) throw invalid(`${BOOTSTRAP} is empty`);
  const manifestFile = files.get(MANIFEST);
  if (!manifestFile?.bytes) throw invalid(`a custom runtime's bundle needs a ${MANIFEST} at its top level: {"name": "${registeredName}", "description": "…"}`);

  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestFile.bytes.toString('utf8'));
  } catch (error) {
    throw invalid(`${MANIFEST} is not JSON: ${(error as Error).message}`);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw invalid(`${MANIFEST} must be a JSON object`);
  const fields = manifest as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((field) => !FIELDS.includes(field));
  if (unknown.length > 0) throw invalid(`${MANIFEST}: unknown field ${JSON.stringify(unknown[0])} (its fields are "name" and "description")`);
  if (typeof fields.name !== 'string') throw invalid(`${MANIFEST}: "name" must be a string, the runtime's name`);
  if (fields.name !== registeredName) {
    throw invalid(`${MANIFEST}: "name" is ${JSON.stringify(fields.name.slice(0, 80))} but the runtime is registered as ${JSON.stringify(registeredName)}`);
  }
  if (fields.description !== undefined && typeof fields.description !== 'string') throw invalid(`${MANIFEST}: "description" must be a string`);
  const description = (fields.description as string | undefined) ?? '';
  if (description.length > MAX_DESCRIPTION_CHARS) throw invalid(`${MANIFEST}: "description" must be at most ${MAX_DESCRIPTION_CHARS} characters`);
  return { name: fields.name, description };
}
