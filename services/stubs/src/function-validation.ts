import {
  BUILT_IN_RUNTIMES,
  CODE_DIGEST_RULE,
  CONCURRENCY_PER_SANDBOX,
  FUNCTION_NAME,
  IDLE_TIMEOUT_SECONDS,
  MAX_CONCURRENCY,
  MEMORY_MB,
  RESERVED_CONCURRENCY,
  SECRET_NAME,
  TIMEOUT_SECONDS,
  TMP_SIZE_MB,
  asyncPolicyProblem,
  assertFunctionName,
  callbackSecretProblem,
  concurrencyProblem,
  create,
  customRuntimeName,
  FunctionConfigSchema,
  handlerProblem,
  isCodeDigest,
  isWithin,
  withDefault,
  type FunctionConfig,
  type Range,
} from '@faas/protocol';
import { PlatformError } from '@faas/errors';

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_VALUE_MAX_BYTES = 4 * 1024;
const ENV_TOTAL_MAX_BYTES = 64 * 1024;
/** Who may invoke a function (FunctionConfig.auth): empty and "public" mean anyone who reaches the edge. */
const FUNCTION_AUTH_MODES = ['', 'public', 'token'];

function invalid(field: string, problem: string): PlatformError {
  return new PlatformError('invalid_function_config', `${field} ${problem}`);
}

function withinRange(field: string, value: number, range: Range): number {
  const chosen = withDefault(value, range);
  if (!isWithin(chosen, range)) throw invalid(field, `must be from ${range.min} to ${range.max} (got ${value})`);
  return chosen;
}

function checkEnvironment(environment: Record<string, string>): void {
  let total = 0;
  for (const [key, value] of Object.entries(environment)) {
    if (!ENV_KEY.test(key)) throw invalid(`environment key ${JSON.stringify(key.slice(0, 80))}`, 'must match [A-Za-z_][A-Za-z0-9_]*');
    if (key.toUpperCase().startsWith('FAAS_')) throw invalid(`environment key ${key}`, 'must not start with FAAS_ (reserved for the platform)');
    const valueBytes = Buffer.byteLength(value, 'utf8');
    if (valueBytes > ENV_VALUE_MAX_BYTES) throw invalid(`environment value of ${key}`, `must be at most ${ENV_VALUE_MAX_BYTES} bytes`);
    total += Buffer.byteLength(key, 'utf8') + valueBytes;
  }
  if (total > ENV_TOTAL_MAX_BYTES) throw invalid('environment', `must be at most ${ENV_TOTAL_MAX_BYTES} bytes in total`);
}

/**
 * Checks a deployer's config and fills the defaults. Version and timestamps
 * are cleared: the registry assigns them. Whether the code exists is the
 * registry's check, not this one's.
 */
export function normaliseFunctionConfig(input: FunctionConfig): FunctionConfig {
  assertFunctionName(input.name);
  const custom = customRuntimeName(input.runtime);
  if (custom !== undefined ? !FUNCTION_NAME.test(custom) : !(BUILT_IN_RUNTIMES as readonly string[]).includes(input.runtime)) {
    throw invalid('runtime', `must be one of ${BUILT_IN_RUNTIMES.join(', ')} or custom:<name> (got ${JSON.stringify(input.runtime.slice(0, 80))})`);
  }
  const problem = handlerProblem(input.runtime, input.handler);
  if (problem) throw invalid('handler', problem);
  if (!isCodeDigest(input.codeDigest)) throw invalid('code_digest', `must be ${CODE_DIGEST_RULE}`);
  checkEnvironment(input.environment);
  const memoryMb = withinRange('memory_mb', input.memoryMb, MEMORY_MB);
  const tmpSizeMb = withinRange('tmp_size_mb', input.tmpSizeMb, TMP_SIZE_MB);
  // /tmp is memory (tmpfs) charged to the function's cgroup: it cannot outgrow it.
  if (tmpSizeMb > memoryMb) throw invalid('tmp_size_mb', `must not exceed memory_mb (${memoryMb})`);
  const concurrencyPerSandbox = withDefault(input.concurrencyPerSandbox, CONCURRENCY_PER_SANDBOX);
  const concurrency = concurrencyProblem(input.runtime, concurrencyPerSandbox);
  if (concurrency) throw invalid('concurrency_per_sandbox', concurrency);
  const asyncPolicy = input.asyncPolicy ?? { maxAttempts: 0, baseDelayMs: 0, maxDelayMs: 0, retryFunctionErrors: false };
  const asyncProblem = asyncPolicyProblem(asyncPolicy);
  if (asyncProblem) throw new PlatformError('invalid_function_config', asyncProblem);
  const secretProblem = callbackSecretProblem(input.callbackSecret);
  if (secretProblem) throw invalid('callback_secret', secretProblem);
  const maxConcurrency = withinRange('max_concurrency', input.maxConcurrency, MAX_CONCURRENCY);
  const reservedConcurrency = withinRange('reserved_concurrency', input.reservedConcurrency, RESERVED_CONCURRENCY);
  if (reservedConcurrency > maxConcurrency) throw invalid('reserved_concurrency', `must not exceed max_concurrency (${maxConcurrency})`);
  if (!FUNCTION_AUTH_MODES.includes(input.auth)) throw invalid('auth', `must be "public" or "token" (got ${JSON.stringify(input.auth.slice(0, 80))})`);
  return create(FunctionConfigSchema, {
    name: input.name,
    runtime: input.runtime,
    handler: input.handler,
    codeDigest: input.codeDigest,
    memoryMb,
    tmpSizeMb,
    timeoutSeconds: withinRange('timeout_seconds', input.timeoutSeconds, TIMEOUT_SECONDS),
    maxConcurrency,
    concurrencyPerSandbox,
    idleTimeoutSeconds: withinRange('idle_timeout_seconds', input.idleTimeoutSeconds, IDLE_TIMEOUT_SECONDS),
    reservedConcurrency,
    environment: { ...input.environment },
    networkEgress: input.networkEgress === true,
    // Zeros stay zeros: the queue-worker's defaults apply, and may change without a redeploy.
    asyncPolicy: input.asyncPolicy ? { ...asyncPolicy } : undefined,
    callbackSecret: input.callbackSecret,
    secrets: checkSecretNames(input.secrets),
    labels: { ...input.labels },
    annotations: { ...input.annotations },
    image: input.image,
    // Stored as given: "" and "public" both mean anyone may invoke it.
    auth: input.auth === 'public' ? '' : input.auth,
  });
}

/** Names only: whether they exist is the registry's check. Sorted and once each, so a reorder is no change. */
function checkSecretNames(names: readonly string[]): string[] {
  for (const name of names) {
    if (!SECRET_NAME.test(name)) throw invalid('secrets', `${JSON.stringify(name.slice(0, 80))} is not a secret name (1-253 characters of A-Z, a-z, 0-9, ".", "_", "-")`);
  }
  return [...new Set(names)].sort();
}
