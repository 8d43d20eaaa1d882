/**
 * What a function config must be to run (docs/design.md "Functions"), stated
 * once: stubs judges deploys by these rules, the edge fills the same
 * defaults, the funclet re-checks what it is asked to run and the controller
 * places by the same runtime names, so no two of them can disagree.
 */

// ---- runtimes ---------------------------------------------------------------

/** Runtimes every funclet has built in. */
export const BUILT_IN_RUNTIMES = ['nodejs', 'python3', 'exec', 'http'] as const;

/** "custom:<name>" runs the runtime registered under <name> with PutRuntime. */
export const CUSTOM_RUNTIME_PREFIX = 'custom:';

/** The runtime a funclet announces for every custom:<name>; no registered runtime may take it. */
export const CUSTOM_RUNTIME = 'custom';

/** The <name> of "custom:<name>" ('' for a bare "custom:"), undefined for other runtimes. */
export function customRuntimeName(runtime: string): string | undefined {
  return runtime.startsWith(CUSTOM_RUNTIME_PREFIX) ? runtime.slice(CUSTOM_RUNTIME_PREFIX.length) : undefined;
}

export function isCustomRuntime(runtime: string): boolean {
  return Boolean(customRuntimeName(runtime));
}

/** The runtime a funclet must announce to run `runtime`. */
export function runtimeFamily(runtime: string): string {
  return isCustomRuntime(runtime) ? CUSTOM_RUNTIME : runtime;
}

// ---- sizes and limits -------------------------------------------------------

/** A setting's allowed values; 0, proto3's "unset", means `default`. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

export const MEMORY_MB = { min: 64, max: 10240, default: 128 } as const satisfies Range;
export const TIMEOUT_SECONDS = { min: 1, max: 900, default: 30 } as const satisfies Range;
export const MAX_CONCURRENCY = { min: 1, max: 1000, default: 10 } as const satisfies Range;
/** Calls one sandbox serves at once. */
export const CONCURRENCY_PER_SANDBOX = { min: 1, max: 1000, default: 1 } as const satisfies Range;
/** A sandbox without a call for this long is recycled: the function scales to zero. */
export const IDLE_TIMEOUT_SECONDS = { min: 1, max: 86_400, default: 300 } as const satisfies Range;
/** Calls' worth of sandboxes kept warm however idle; at most max_concurrency. */
export const RESERVED_CONCURRENCY = { min: 0, max: 1000, default: 0 } as const satisfies Range;
/** /tmp is memory (tmpfs) charged to the function, so it is also capped by its memory_mb. */
export const TMP_SIZE_MB = { min: 1, max: 10240, default: 64 } as const satisfies Range;

export function withDefault(value: number, range: Range): number {
  return value === 0 ? range.default : value;
}

export function isWithin(value: number, range: Range): boolean {
  return value >= range.min && value <= range.max;
}

/**
 * Runtimes whose sandboxes may serve several calls at once: the Node agent
 * runs handlers concurrently, exec starts a process per call, an http
 * function's server takes many requests. Python's agent and a Lambda
 * bootstrap take one call at a time.
 */
const CONCURRENT_RUNTIMES: readonly string[] = ['nodejs', 'http', 'exec'];

export function servesConcurrentCalls(runtime: string): boolean {
  return CONCURRENT_RUNTIMES.includes(runtimeFamily(runtime));
}

/** What is wrong with `concurrency` calls per sandbox for `runtime` (after "concurrency_per_sandbox"); undefined when nothing is. */
export function concurrencyProblem(runtime: string, concurrency: number): string | undefined {
  if (!isWithin(concurrency, CONCURRENCY_PER_SANDBOX)) return `must be from ${CONCURRENCY_PER_SANDBOX.min} to ${CONCURRENCY_PER_SANDBOX.max} (got ${concurrency})`;
  if (concurrency > 1 && !servesConcurrentCalls(runtime)) {
    return `must be 1 for runtime ${runtime}: only ${CONCURRENT_RUNTIMES.join(', ')} serve several calls per sandbox`;
  }
  return undefined;
}

// ---- handlers ---------------------------------------------------------------

/** Runtimes whose handler names "file.export" in the bundle; the others take a command line. */
const MODULE_HANDLER_RUNTIMES: readonly string[] = ['nodejs', 'python3'];
const COMMAND_HANDLER_MAX_CHARS = 1024;
const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PATH_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * "file.export": a relative module path inside the bundle (no "..", no
 * leading "/") and an identifier, e.g. index.handler or src/app.main.
 */
export function isModuleHandler(handler: string): boolean {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) return false;
  if (!EXPORT_NAME.test(handler.slice(dot + 1))) return false;
  return handler
    .slice(0, dot)
    .split('/')
    .every((segment) => PATH_SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

/** What is wrong with `handler` for `runtime`, said after the word "handler"; undefined when nothing is. */
export function handlerProblem(runtime: string, handler: string): string | undefined {
  if (handler.trim() === '') return 'is required';
  if (MODULE_HANDLER_RUNTIMES.includes(runtime)) {
    if (isModuleHandler(handler)) return undefined;
    return `must be "file.export" with a relative file path inside the bundle, e.g. "index.handler" (got ${JSON.stringify(handler.slice(0, 80))})`;
  }
  // exec and http handlers are a program (and arguments) started in the
  // sandbox; a custom runtime's is whatever its bootstrap reads from _HANDLER.
  if (handler.length > COMMAND_HANDLER_MAX_CHARS) return `must be at most ${COMMAND_HANDLER_MAX_CHARS} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(handler)) return 'must not contain control characters';
  return undefined;
}

// ---- code -------------------------------------------------------------------

/** Code and runtime bundles are named by the sha256 of their bytes. */
const CODE_DIGEST = /^sha256:([0-9a-f]{64})$/;
export const CODE_DIGEST_RULE = '"sha256:" followed by 64 lower-case hex digits';

export function isCodeDigest(value: string): boolean {
  return CODE_DIGEST.test(value);
}

/** The 64 hex digits of a code digest, or undefined when `value` is not one. */
export function codeDigestHex(value: string): string | undefined {
  return CODE_DIGEST.exec(value)?.[1];
}

export function codeDigestOf(hex: string): string {
  return `sha256:${hex}`;
}

/** Archive formats a code bundle may come in, told apart by their first bytes. */
export type BundleFormat = 'zip' | 'tar.gz';

/** Bytes needed before the format can be told. */
export const FORMAT_SNIFF_BYTES = 4;

export function sniffBundleFormat(head: Uint8Array): BundleFormat | undefined {
  // A zip starting with an end-of-directory record instead ("PK\x05\x06") holds no files: not a bundle.
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  return undefined;
}

// ---- funclets ---------------------------------------------------------------

/** Funclet ids are part of container ids, cgroup paths, network namespace names and Redis keys. */
export const FUNCLET_ID_MAX_CHARS = 40;
export const FUNCLET_ID = new RegExp(`^[a-z0-9][a-z0-9-]{0,${FUNCLET_ID_MAX_CHARS - 1}}$`);
export const FUNCLET_ID_RULE = `1-${FUNCLET_ID_MAX_CHARS} characters of a-z, 0-9 and "-", starting with a letter or digit`;
