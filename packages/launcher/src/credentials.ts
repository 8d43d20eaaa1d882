/**
 * The platform's first credentials, made once per work folder and kept
 * there (mode 0600): the bootstrap admin token the edge accepts, and an AWS
 * shared-credentials file with the access key pair the Lambda-compatible
 * routes accept. A restart finds and keeps them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface PlatformCredentials {
  readonly adminToken: string;
  readonly adminTokenFile: string;
  readonly awsCredentialsFile: string;
  /** True when this call made them (first start). */
  readonly created: boolean;
}

const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function ensureCredentials(workDir: string): PlatformCredentials {
  const adminTokenFile = path.join(workDir, 'admin-token');
  const awsCredentialsFile = path.join(workDir, 'aws-credentials');
  let created = false;
  mkdirSync(workDir, { recursive: true });
  if (!existsSync(adminTokenFile)) {
    writeFileSync(adminTokenFile, `faas_admin_${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  }
  if (!existsSync(awsCredentialsFile)) {
    // Shaped like AWS's own, so SDKs and the CLI take them as they are.
    const keyId = 'AKIA' + Array.from(randomBytes(16), (byte) => ACCESS_KEY_ALPHABET[byte % 32]).join('');
    const secret = randomBytes(30).toString('base64').replace(/[+/]/g, 'A');
    writeFileSync(awsCredentialsFile, `[default]\naws_access_key_id = ${keyId}\naws_secret_access_key = ${secret}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { adminToken: readFileSync(adminTokenFile, 'utf8').trim(), adminTokenFile, awsCredentialsFile, created };
}

const adminTokens = new Map<string, string>();

/**
 * The admin token of a platform this process started, by any URL on its
 * edge: lets tests and benchmarks in the same process call the API they
 * brought up without threading the token through every call.
 */
export function adminTokenFor(url: string): string | undefined {
  try {
    return adminTokens.get(new URL(url).origin);
  } catch {
    return undefined;
  }
}

export function rememberAdminToken(httpUrl: string, token: string | undefined): void {
  const origin = new URL(httpUrl).origin;
  if (token === undefined) adminTokens.delete(origin);
  else adminTokens.set(origin, token);
}
