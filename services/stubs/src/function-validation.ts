import { FUNCTION_NAME, assertFunctionName, create, FunctionConfigSchema, type FunctionConfig } from '@faas/protocol';
import { PlatformError } from '@faas/errors';
import { isDigest } from './digest.js';

/** The rules of docs/design.md "Functions". */
export const RUNTIMES = ['nodejs', 'python3', 'exec', 'http'] as const;
/** "custom:<name>" runs a runtime registered with PutRuntime. */
export const CUSTOM_RUNTIME_PREFIX = 'custom:';

export function customRuntimeName(runtime: string): string | undefined {
  return runtime.startsWith(CUSTOM_RUNTIME_PREFIX) ? runtime.slice(CUSTOM_RUNTIME_PREFIX.length) : undefined;
}
export const MEMORY_MB = { min: 64, max: 10240, default: 128 } as const;
export const TIMEOUT_SECONDS = { min: 1, max: 900, default: 30 } as const;
export const MAX_CONCURRENCY = { min: 1, max: 1000, default: 10 } as const;
export const TMP_SIZE_MB = { min: 1, max: 10240, default: 64 } as const;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_VALUE_MAX_BYTES = 4 * 1024;
const ENV_TOTAL_MAX_BYTES = 64 * 1024;
const COMMAND_HANDLER_MAX_CHARS = 1024;

const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PATH_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * "file.export": a relative module path inside the bundle (no "..", no
 * leading "/") and an identifier, e.g. index.handler or src/app.main.
 */
function isModuleHandler(handler: string): boolean {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) return false;
  const file = handler.slice(0, dot);
  if (!EXPORT_NAME.test(handler.slice(dot + 1))) return false;
  return file.split('/').every((segment) => PATH_SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

function invalid(field: string, problem: string): PlatformError {
  return new PlatformError('invalid_function_config', `${field} ${problem}`);
}

function withinRange(field: string, value: number, range: { min: number; max: number; default: number }): number {
  if (value === 0) return range.default;
  if (value < range.min || value > range.max) throw invalid(field, `must be from ${range.min} to ${range.max} (got ${value})`);
  return value;
}

function checkHandler(runtime: string, handler: string): void {
  if (handler.length === 0) throw invalid('handler', 'is required');
  if (runtime === 'nodejs' || runtime === 'python3') {
    if (!isModuleHandler(handler)) {
      throw invalid('handler', `must be "file.export" with a relative file path inside the bundle, e.g. "index.handler" (got ${JSON.stringify(handler.slice(0, 80))})`);
    }
    return;
  }
  // exec/http handlers name a program (and arguments) to start in the sandbox;
  // a custom runtime's handler is whatever its bootstrap reads from _HANDLER.
  if (handler.length > COMMAND_HANDLER_MAX_CHARS) throw invalid('handler', `must be at most ${COMMAND_HANDLER_MAX_CHARS} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(handler)) throw invalid('handler', 'must not contain control characters');
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
  if (custom !== undefined ? !FUNCTION_NAME.test(custom) : !(RUNTIMES as readonly string[]).includes(input.runtime)) {
    throw invalid('runtime', `must be one of ${RUNTIMES.join(', ')} or custom:<name> (got ${JSON.stringify(input.runtime.slice(0, 80))})`);
  }
  checkHandler(input.runtime, input.handler);
  if (!isDigest(input.codeDigest)) {
    throw invalid('code_digest', 'must be "sha256:" followed by 64 lower-case hex digits');
  }
  checkEnvironment(input.environment);
  const memoryMb = withinRange('memory_mb', input.memoryMb, MEMORY_MB);
  const tmpSizeMb = withinRange('tmp_size_mb', input.tmpSizeMb, TMP_SIZE_MB);
  // /tmp is memory (tmpfs) charged to the function's cgroup: it cannot outgrow it.
  if (tmpSizeMb > memoryMb) throw invalid('tmp_size_mb', `must not exceed memory_mb (${memoryMb})`);
  return create(FunctionConfigSchema, {
    name: input.name,
    runtime: input.runtime,
    handler: input.handler,
    codeDigest: input.codeDigest,
    memoryMb,
    tmpSizeMb,
    timeoutSeconds: withinRange('timeout_seconds', input.timeoutSeconds, TIMEOUT_SECONDS),
    maxConcurrency: withinRange('max_concurrency', input.maxConcurrency, MAX_CONCURRENCY),
    environment: { ...input.environment },
    networkEgress: input.networkEgress === true,
  });
}
