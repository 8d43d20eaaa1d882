/**
 * A failure of the user's function: its handler threw, timed out or ran out
 * of memory. Deliberately not a PlatformError: callers must always be able
 * to tell the two apart.
 */
export interface FunctionErrorInfo {
  /** e.g. "TypeError", "Timeout", "OutOfMemory". */
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
}

/** Error types the platform itself assigns to a function's failure. */
export const FunctionErrorType = {
  Timeout: 'Timeout',
  OutOfMemory: 'OutOfMemory',
  /** The runtime exited or crashed while running the handler. */
  RuntimeExited: 'RuntimeExited',
  /** The handler could not be loaded (missing file or export, syntax error). */
  HandlerNotFound: 'HandlerNotFound',
  InitError: 'InitError',
} as const;
