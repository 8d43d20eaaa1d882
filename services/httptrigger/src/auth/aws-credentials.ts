/**
 * The access key pairs the Lambda-compatible routes accept, read from an AWS
 * shared-credentials file (`npm run up` writes `.run/aws-credentials`):
 * every profile's `aws_access_key_id` and `aws_secret_access_key`.
 */
import { readFileSync } from 'node:fs';

export interface AccessKeys {
  secretFor(accessKeyId: string): string | undefined;
}

export function parseSharedCredentials(text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  let id: string | undefined;
  let secret: string | undefined;
  const flush = () => {
    if (id && secret) pairs.set(id, secret);
    id = secret = undefined;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) flush();
    const match = /^(aws_access_key_id|aws_secret_access_key)\s*=\s*(\S+)$/.exec(line);
    if (match?.[1] === 'aws_access_key_id') id = match[2];
    else if (match) secret = match[2];
  }
  flush();
  return pairs;
}

export function accessKeysFromFile(path: string): AccessKeys {
  const pairs = path ? parseSharedCredentials(readFileSync(path, 'utf8')) : new Map<string, string>();
  return { secretFor: (accessKeyId) => pairs.get(accessKeyId) };
}
