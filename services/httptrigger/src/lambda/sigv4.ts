/**
 * AWS Signature Version 4 checks on the Lambda routes. Keys come through
 * AccessKeys, so who issues them can change (configured pairs now); with
 * no keys configured, requests need no signature. The canonical request is
 * built as AWS's SDKs build it (their signer double-encodes path segments
 * for every service but S3), so a request they signed verifies here.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { LambdaError } from './errors.js';

export interface AccessKeys {
  secretFor(accessKeyId: string): string | undefined;
}

/** Requests more than this far from our clock are refused, as AWS refuses them. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = 'AWS4-HMAC-SHA256';

/** `id:secret,id:secret` (FAAS_LAMBDA_ACCESS_KEYS). */
export function parseAccessKeyList(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const entry of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1) throw new Error('FAAS_LAMBDA_ACCESS_KEYS takes id:secret pairs separated by commas');
    keys.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  return keys;
}

/** Every profile's aws_access_key_id / aws_secret_access_key of a shared credentials file. */
export function parseCredentialsFile(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  let id: string | undefined;
  let secret: string | undefined;
  const flush = () => {
    if (id && secret) keys.set(id, secret);
    id = secret = undefined;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) flush();
    const match = /^(aws_access_key_id|aws_secret_access_key)\s*=\s*(.+)$/.exec(line);
    if (match?.[1] === 'aws_access_key_id') id = match[2]!.trim();
    else if (match) secret = match[2]!.trim();
  }
  flush();
  return keys;
}

/** The configured keys, or undefined when none are (signatures off). */
export function accessKeysFrom(settings: { list: string; credentialsFile: string }): AccessKeys | undefined {
  const keys = parseAccessKeyList(settings.list);
  if (settings.credentialsFile) {
    // Read on every lookup: whoever writes the file may rotate keys while we run.
    const fileKeys = () => parseCredentialsFile(readFileSync(settings.credentialsFile, 'utf8'));
    fileKeys();
    return { secretFor: (id) => keys.get(id) ?? fileKeys().get(id) };
  }
  return keys.size > 0 ? { secretFor: (id) => keys.get(id) } : undefined;
}

/** encodeURIComponent plus the characters RFC 3986 reserves that it leaves alone, as AWS's signers encode. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalised = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalised).replace(/%2F/g, '/');
}

function canonicalQuery(rawQuery: string): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    if (key.toLowerCase() === 'x-amz-signature') continue;
    pairs.push([escapeUri(key), escapeUri(value)]);
  }
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();
const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export interface SignedRequest {
  readonly method: string;
  /** As received: path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const denied = (type: string, message: string) => new LambdaError('unauthenticated', type, 403, message);

/** Throws Lambda's refusal unless `request` carries a valid signature by a known key. */
export function verifySignature(request: SignedRequest, keys: AccessKeys, nowMs = Date.now()): void {
  const authorization = request.headers.authorization;
  if (typeof authorization !== 'string' || !authorization.startsWith(`${ALGORITHM} `)) throw denied('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const fields = Object.fromEntries(
    authorization
      .slice(ALGORITHM.length + 1)
      .split(',')
      .map((part) => part.trim().split('=', 2) as [string, string]),
  );
  const [accessKeyId, date, region, service, terminal] = String(fields.Credential ?? '').split('/');
  const signedHeaders = String(fields.SignedHeaders ?? '');
  const signature = String(fields.Signature ?? '');
  if (!accessKeyId || !date || !region || !service || terminal !== 'aws4_request' || !signedHeaders || !/^[0-9a-f]{64}$/.test(signature)) {
    throw denied('IncompleteSignatureException', 'The Authorization header is not a complete AWS Signature Version 4');
  }
  const secret = keys.secretFor(accessKeyId);
  if (secret === undefined) throw denied('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!match || !amzDate.startsWith(date)) throw denied('IncompleteSignatureException', 'X-Amz-Date is missing or does not match the credential scope');
  const signedAt = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]));
  if (Math.abs(nowMs - signedAt) > MAX_SKEW_MS) throw denied('InvalidSignatureException', 'Signature expired: the request time is more than 15 minutes from the server\'s');

  const queryAt = request.url.indexOf('?');
  const path = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? '' : request.url.slice(queryAt + 1);
  const headerNames = signedHeaders.split(';');
  const canonicalHeaders = headerNames
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  // The body is signed through its hash: a claimed hash must be the body's own.
  const payloadHash = sha256Hex(request.body);
  const claimed = request.headers['x-amz-content-sha256'];
  if (claimed !== undefined && claimed !== payloadHash) throw denied('InvalidSignatureException', 'X-Amz-Content-Sha256 does not match the body');
  const canonicalRequest = [request.method, canonicalPath(path), canonicalQuery(rawQuery), canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = hmac(signingKey, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw denied('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
}
