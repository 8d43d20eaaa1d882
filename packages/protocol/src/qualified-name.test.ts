import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { assertQualifiedName, parseQualifiedName, qualifiedNameOf, qualifiedTarget } from './qualified-name.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof PlatformError ? error.code : 'not a platform error';
  }
}

describe('qualified names', () => {
  it('reads $LATEST, a version number and an alias', () => {
    expect(parseQualifiedName('hello')).toEqual({ name: 'hello', qualifier: { kind: 'latest' } });
    expect(parseQualifiedName('hello:$LATEST')).toEqual({ name: 'hello', qualifier: { kind: 'latest' } });
    expect(parseQualifiedName('hello:12')).toEqual({ name: 'hello', qualifier: { kind: 'version', version: 12 } });
    expect(parseQualifiedName('hello:live')).toEqual({ name: 'hello', qualifier: { kind: 'alias', alias: 'live' } });
  });

  it('refuses what is neither, with a code', () => {
    expect(codeOf(() => parseQualifiedName('Hello:1'))).toBe('invalid_function_name');
    expect(codeOf(() => parseQualifiedName('hello:0'))).toBe('invalid_qualifier');
    expect(codeOf(() => parseQualifiedName('hello:01'))).toBe('invalid_qualifier');
    expect(codeOf(() => parseQualifiedName('hello:a:b'))).toBe('invalid_qualifier');
    expect(codeOf(() => parseQualifiedName('hello:-x'))).toBe('invalid_qualifier');
    expect(codeOf(() => assertQualifiedName('hello:live'))).toBeUndefined();
    expect(codeOf(() => assertQualifiedName('../etc'))).toBe('invalid_function_name');
  });

  it('puts a route\'s path and ?qualifier= into one canonical form, refusing a disagreement', () => {
    expect(qualifiedTarget('hello')).toBe('hello');
    expect(qualifiedTarget('hello:$LATEST')).toBe('hello');
    expect(qualifiedTarget('hello', '3')).toBe('hello:3');
    expect(qualifiedTarget('hello', '$LATEST')).toBe('hello');
    expect(qualifiedTarget('hello:3', '3')).toBe('hello:3');
    expect(codeOf(() => qualifiedTarget('hello:3', 'live'))).toBe('invalid_qualifier');
  });

  it('names a config by its published version', () => {
    expect(qualifiedNameOf({ name: 'hello', publishedVersion: 0 })).toBe('hello');
    expect(qualifiedNameOf({ name: 'hello', publishedVersion: 4 })).toBe('hello:4');
  });
});
