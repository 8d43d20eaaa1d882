/**
 * The NATS half of the contracts (docs/design.md): subjects, headers and
 * message bodies that one service publishes and another reads, defined once
 * so the two sides cannot drift apart.
 */

/** Asynchronous invocations: `faas.invoke.<function>` in the FAAS_INVOCATIONS stream. */
export const INVOCATION_SUBJECT_PREFIX = 'faas.invoke.';
export const invocationSubject = (functionName: string): string => `${INVOCATION_SUBJECT_PREFIX}${functionName}`;

/** Marks a message whose body is a protobuf AsyncInvocation rather than a raw event. */
export const ENVELOPE_HEADER = 'Faas-Envelope';
export const ENVELOPE_ASYNC_INVOCATION = 'faas.v1.AsyncInvocation';

/** Function output: one message per line on `faas.logs.<function>`, stream FAAS_LOGS (owned by funclets). */
export const LOG_STREAM = 'FAAS_LOGS';
export const LOG_SUBJECT_PREFIX = 'faas.logs.';
export const logSubject = (functionName: string): string => `${LOG_SUBJECT_PREFIX}${functionName}`;

/** The JSON body of a log message. */
export interface LogLine {
  readonly time: string;
  readonly callId: string;
  readonly stream: 'stdout' | 'stderr';
  readonly sandboxId: string;
  readonly version: string;
  readonly line: string;
}
