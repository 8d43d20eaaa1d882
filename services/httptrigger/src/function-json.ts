import { PlatformError } from '@faas/errors';
import { CONCURRENCY_PER_SANDBOX, IDLE_TIMEOUT_SECONDS, LATEST, MAX_CONCURRENCY, RESERVED_CONCURRENCY, MEMORY_MB, TIMEOUT_SECONDS, TMP_SIZE_MB, type FunctionConfig, type FunctionConfigSchema, type MessageInitShape } from '@faas/protocol';

/** A function as the REST API shows it. */
export interface FunctionJson {
  readonly name: string;
  readonly runtime: string;
  readonly handler: string;
  readonly code: { readonly digest: string };
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly environment: Record<string, string>;
  readonly maxConcurrency: number;
  /** Calls one sandbox serves at once. */
  readonly concurrencyPerSandbox: number;
  /** Calls' worth of sandboxes kept warm however idle. */
  readonly reservedConcurrency: number;
  /** A sandbox idle this long is recycled (scale to zero). */
  readonly idleTimeoutSeconds: number;
  /** Size of /tmp in MiB (counted in memoryMb). */
  readonly tmpSizeMb: number;
  /** Outbound network (off by default: loopback only). */
  readonly network: { readonly egress: boolean };
  /** Secrets mounted at /var/openfaas/secrets/<name>. */
  readonly secrets: string[];
  /** Kept as given (OpenFaaS labels and annotations; Lambda's own fields under `lambda/`). */
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  /** "public" (anyone may invoke it) or "token" (an invoke token is needed). */
  readonly auth: string;
  /** Retries of asynchronous calls; 0 or absent means the queue-worker's default. The callback secret is write-only. */
  readonly async: { readonly maxAttempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number; readonly retryFunctionErrors: boolean; readonly callbackSecretSet: boolean };
  /** The revision of $LATEST this config is (a published version keeps the one it copied). */
  readonly version: number;
  /** "$LATEST", or the number of the published version this config is. */
  readonly qualifier: string;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
}

/** Fields a client may send back from a GET; the server assigns them, so they are ignored. */
const READ_ONLY_FIELDS = new Set(['version', 'qualifier', 'createdAt', 'updatedAt']);
const ASYNC_FIELDS = new Set(['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'retryFunctionErrors', 'callbackSecret', 'callbackSecretSet']);
const WRITABLE_FIELDS = new Set(['name', 'runtime', 'handler', 'code', 'memoryMb', 'timeoutSeconds', 'environment', 'maxConcurrency', 'concurrencyPerSandbox', 'reservedConcurrency', 'idleTimeoutSeconds', 'tmpSizeMb', 'network', 'async', 'secrets', 'labels', 'annotations', 'auth']);

export function functionToJson(config: FunctionConfig): FunctionJson {
  return {
    name: config.name,
    runtime: config.runtime,
    handler: config.handler,
    code: { digest: config.codeDigest },
    memoryMb: config.memoryMb,
    timeoutSeconds: config.timeoutSeconds,
    environment: { ...config.environment },
    maxConcurrency: config.maxConcurrency,
    concurrencyPerSandbox: config.concurrencyPerSandbox,
    reservedConcurrency: config.reservedConcurrency,
    idleTimeoutSeconds: config.idleTimeoutSeconds || IDLE_TIMEOUT_SECONDS.default,
    tmpSizeMb: config.tmpSizeMb,
    network: { egress: config.networkEgress },
    secrets: [...config.secrets],
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    auth: config.auth || 'public',
    async: {
      maxAttempts: config.asyncPolicy?.maxAttempts ?? 0,
      baseDelayMs: config.asyncPolicy?.baseDelayMs ?? 0,
      maxDelayMs: config.asyncPolicy?.maxDelayMs ?? 0,
      retryFunctionErrors: config.asyncPolicy?.retryFunctionErrors ?? false,
      callbackSecretSet: config.callbackSecret !== '',
    },
    version: Number(config.version),
    qualifier: config.publishedVersion > 0 ? String(config.publishedVersion) : LATEST,
    createdAt: isoOrNull(config.createdAtMs),
    updatedAt: isoOrNull(config.updatedAtMs),
  };
}

/**
 * Checks the shape of a PUT body (types, unknown fields) and maps it to a
 * FunctionConfig. Ranges and names are stubs' to judge.
 */
export function functionFromRequest(name: string, body: unknown): MessageInitShape<typeof FunctionConfigSchema> {
  if (!isPlainObject(body)) throw badRequest('the body must be a JSON object');
  for (const field of Object.keys(body)) {
    if (!WRITABLE_FIELDS.has(field) && !READ_ONLY_FIELDS.has(field)) throw badRequest(`unknown field "${field}"`);
  }
  if (body.name !== undefined && body.name !== name) throw badRequest(`field "name" (${JSON.stringify(body.name)}) differs from the path (${name})`);
  const code = body.code;
  if (!isPlainObject(code)) throw badRequest('field "code" must be an object like {"digest": "sha256:..."}');
  for (const field of Object.keys(code)) if (field !== 'digest') throw badRequest(`unknown field "code.${field}"`);

  return {
    name,
    runtime: requiredString(body, 'runtime'),
    handler: requiredString(body, 'handler'),
    codeDigest: requiredString(code, 'digest', 'code.digest'),
    memoryMb: optionalInteger(body, 'memoryMb') ?? MEMORY_MB.default,
    timeoutSeconds: optionalInteger(body, 'timeoutSeconds') ?? TIMEOUT_SECONDS.default,
    maxConcurrency: optionalInteger(body, 'maxConcurrency') ?? MAX_CONCURRENCY.default,
    concurrencyPerSandbox: optionalInteger(body, 'concurrencyPerSandbox') ?? CONCURRENCY_PER_SANDBOX.default,
    reservedConcurrency: optionalInteger(body, 'reservedConcurrency') ?? RESERVED_CONCURRENCY.default,
    idleTimeoutSeconds: optionalInteger(body, 'idleTimeoutSeconds') ?? IDLE_TIMEOUT_SECONDS.default,
    tmpSizeMb: optionalInteger(body, 'tmpSizeMb') ?? TMP_SIZE_MB.default,
    environment: optionalStringMap(body, 'environment'),
    secrets: optionalSecretNames(body),
    labels: optionalStringMap(body, 'labels'),
    annotations: optionalStringMap(body, 'annotations'),
    networkEgress: optionalNetworkEgress(body),
    auth: optionalAuth(body),
    ...optionalAsync(body),
  };
}

/**
 * `async: {maxAttempts, baseDelayMs, maxDelayMs, retryFunctionErrors,
 * callbackSecret}`. Ranges are stubs' to judge; `callbackSecretSet` (from a
 * GET sent back) is ignored. A PUT replaces the whole config, the secret
 * included: leaving it out removes it.
 */
function optionalAsync(object: Record<string, unknown>) {
  const value = object.async;
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw badRequest('field "async" must be an object like {"maxAttempts": 3}');
  for (const field of Object.keys(value)) if (!ASYNC_FIELDS.has(field)) throw badRequest(`unknown field "async.${field}"`);
  if (value.retryFunctionErrors !== undefined && typeof value.retryFunctionErrors !== 'boolean') throw badRequest('field "async.retryFunctionErrors" must be a boolean');
  if (value.callbackSecret !== undefined && typeof value.callbackSecret !== 'string') throw badRequest('field "async.callbackSecret" must be a string');
  return {
    asyncPolicy: {
      maxAttempts: optionalInteger(value, 'maxAttempts', 'async.maxAttempts') ?? 0,
      baseDelayMs: optionalInteger(value, 'baseDelayMs', 'async.baseDelayMs') ?? 0,
      maxDelayMs: optionalInteger(value, 'maxDelayMs', 'async.maxDelayMs') ?? 0,
      retryFunctionErrors: value.retryFunctionErrors === true,
    },
    callbackSecret: typeof value.callbackSecret === 'string' ? value.callbackSecret : '',
  };
}

/** `auth: "public" | "token"`; stubs judges the value. */
function optionalAuth(object: Record<string, unknown>): string {
  if (object.auth === undefined || object.auth === null) return '';
  if (typeof object.auth !== 'string') throw badRequest('field "auth" must be "public" or "token"');
  return object.auth;
}

/** `network: { egress: true }` asks for outbound network. */
function optionalNetworkEgress(object: Record<string, unknown>): boolean {
  const value = object.network;
  if (value === undefined || value === null) return false;
  if (!isPlainObject(value)) throw badRequest('field "network" must be an object like {"egress": true}');
  for (const field of Object.keys(value)) if (field !== 'egress') throw badRequest(`unknown field "network.${field}"`);
  if (value.egress !== undefined && typeof value.egress !== 'boolean') throw badRequest('field "network.egress" must be a boolean');
  return value.egress === true;
}

function requiredString(object: Record<string, unknown>, field: string, label = field): string {
  const value = object[field];
  if (typeof value !== 'string' || value === '') throw badRequest(`field "${label}" must be a non-empty string`);
  return value;
}

function optionalInteger(object: Record<string, unknown>, field: string, label = field): number | undefined {
  const value = object[field];
  if (value === undefined || value === null) return undefined;
  // Out-of-range values still go to stubs as long as they fit the proto's uint32.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw badRequest(`field "${label}" must be a non-negative integer`);
  }
  return value;
}

function optionalStringMap(object: Record<string, unknown>, field: 'environment' | 'labels' | 'annotations'): Record<string, string> {
  const value = object[field];
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw badRequest(`field "${field}" must be an object of strings`);
  const map: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw badRequest(`field "${field}.${key}" must be a string`);
    map[key] = entry;
  }
  return map;
}

/** Names only here; stubs checks them and that they exist. */
function optionalSecretNames(object: Record<string, unknown>): string[] {
  const value = object.secrets;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string')) throw badRequest('field "secrets" must be an array of secret names');
  return value as string[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isoOrNull(ms: bigint): string | null {
  return ms > 0n ? new Date(Number(ms)).toISOString() : null;
}

export function badRequest(message: string): PlatformError {
  return new PlatformError('bad_request', message);
}
