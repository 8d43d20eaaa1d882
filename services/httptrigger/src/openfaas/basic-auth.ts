/**
 * Basic auth on the OpenFaaS gateway's /system/* routes, as the gateway's
 * own (off unless configured). Who the valid credentials are is behind
 * BasicCredentials, so the management API's tokens can take over later.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';

export interface BasicCredentials {
  verify(user: string, password: string): boolean;
}

/** Compares digests, so neither the length nor the content of the secret shows in the timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** One fixed user and password. Both comparisons always run: a wrong user costs what a wrong password does. */
export function fixedCredentials(user: string, password: string): BasicCredentials {
  return {
    verify: (givenUser, givenPassword) => {
      const userMatches = sameSecret(givenUser, user);
      const passwordMatches = sameSecret(givenPassword, password);
      return userMatches && passwordMatches;
    },
  };
}

export interface BasicAuthSettings {
  readonly user: string;
  readonly userFile: string;
  readonly password: string;
  readonly passwordFile: string;
}

/**
 * The configured credentials, or undefined when basic auth is off (neither
 * user nor password given). A value from a file loses its trailing newline,
 * as OpenFaaS's secret files are usually written with one.
 */
export function credentialsFrom(settings: BasicAuthSettings): BasicCredentials | undefined {
  const read = (value: string, file: string, name: string) => {
    if (file === '') return value;
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new Error(`cannot read ${name}_FILE (${file}): ${(error as Error).message}`, { cause: error });
    }
  };
  const user = read(settings.user, settings.userFile, 'FAAS_BASIC_AUTH_USER');
  const password = read(settings.password, settings.passwordFile, 'FAAS_BASIC_AUTH_PASSWORD');
  if (user === '' && password === '') return undefined;
  if (user === '' || password === '') throw new Error('basic auth needs both FAAS_BASIC_AUTH_USER and FAAS_BASIC_AUTH_PASSWORD (or their _FILE forms)');
  return fixedCredentials(user, password);
}

/**
 * The user and password of an `Authorization: Basic` header; undefined for
 * anything else, `faas-cli`'s empty `Bearer ` (sent when not logged in) included.
 */
export function basicCredentialsOf(headers: IncomingHttpHeaders): { user: string; password: string } | undefined {
  const header = headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
