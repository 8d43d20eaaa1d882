/**
 * What a call names: a function and, optionally, which of it. Callers write
 * `name`, `name:$LATEST`, `name:3` (a published version) or `name:live` (an
 * alias); inside the platform an invocation's function_name carries the
 * canonical form (`name`, `name:3`, `name:live`), which also keys the
 * controller's pools and the edges' leases, so that no two versions ever
 * share a sandbox. Function names hold no ":", so the split is unambiguous.
 */
import { PlatformError } from '@faas/errors';
import { FUNCTION_NAME, assertFunctionName } from './identifiers.js';

export const LATEST = '$LATEST';
/** Lambda's alias rule: letters, digits, "_" and "-", starting with a letter (so never a number). */
export const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;
/** A published version's number as written: 1 and up, no leading zero. */
export const VERSION_NUMBER = /^[1-9][0-9]{0,8}$/;

export type Qualifier = { readonly kind: 'latest' } | { readonly kind: 'version'; readonly version: number } | { readonly kind: 'alias'; readonly alias: string };

export interface QualifiedName {
  readonly name: string;
  readonly qualifier: Qualifier;
}

/** Parses `name[:qualifier]`; invalid_function_name or invalid_qualifier when it is neither. */
export function parseQualifiedName(target: string): QualifiedName {
  const colon = target.indexOf(':');
  if (colon < 0) {
    assertFunctionName(target);
    return { name: target, qualifier: { kind: 'latest' } };
  }
  const name = target.slice(0, colon);
  assertFunctionName(name);
  return { name, qualifier: parseQualifier(target.slice(colon + 1)) };
}

/** `$LATEST` (or nothing), a version number, or an alias name. */
export function parseQualifier(text: string): Qualifier {
  if (text === '' || text === LATEST) return { kind: 'latest' };
  if (VERSION_NUMBER.test(text)) return { kind: 'version', version: Number(text) };
  if (ALIAS_NAME.test(text)) return { kind: 'alias', alias: text };
  throw new PlatformError(
    'invalid_qualifier',
    `qualifier ${JSON.stringify(text.slice(0, 80))} must be $LATEST, a version number, or an alias (1-128 characters of A-Z, a-z, 0-9, "_" and "-", starting with a letter)`,
  );
}

/** A qualifier as written: `$LATEST`, the version's number, or the alias. */
export function formatQualifier(qualifier: Qualifier): string {
  switch (qualifier.kind) {
    case 'latest':
      return LATEST;
    case 'version':
      return String(qualifier.version);
    case 'alias':
      return qualifier.alias;
  }
}

/** The canonical form of what a call names: `name` for $LATEST, else `name:qualifier`. */
export function formatQualifiedName({ name, qualifier }: QualifiedName): string {
  return qualifier.kind === 'latest' ? name : `${name}:${formatQualifier(qualifier)}`;
}

/**
 * The canonical target of a route's call: the path's `name` (which may
 * carry `:qualifier`) and a `?qualifier=` (which must agree with it).
 */
export function qualifiedTarget(pathName: string, queryQualifier?: string): string {
  const named = parseQualifiedName(pathName);
  if (queryQualifier === undefined) return formatQualifiedName(named);
  const queried = parseQualifier(queryQualifier);
  const fromPath = formatQualifiedName(named);
  const fromQuery = formatQualifiedName({ name: named.name, qualifier: queried });
  if (pathName.includes(':') && fromPath !== fromQuery) {
    throw new PlatformError('invalid_qualifier', `the path names ${fromPath} but ?qualifier= names ${fromQuery}`);
  }
  return fromQuery;
}

/** Whether `target` is a function name with an optional qualifier (for checks that must not throw). */
export function isQualifiedName(target: string): boolean {
  try {
    assertQualifiedName(target);
    return true;
  } catch {
    return false;
  }
}

/** Checks an invocation's function_name: a function name with an optional qualifier. */
export function assertQualifiedName(target: string): void {
  if (FUNCTION_NAME.test(target)) return;
  parseQualifiedName(target);
}

/** The canonical name of a config: `name` for $LATEST, `name:N` for published version N. */
export function qualifiedNameOf(fn: { readonly name: string; readonly publishedVersion: number }): string {
  return fn.publishedVersion > 0 ? `${fn.name}:${fn.publishedVersion}` : fn.name;
}
