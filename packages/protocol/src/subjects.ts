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

/** Calls whose attempts were used up: `faas.dead.<function>.<callId>` in FAAS_DEAD_LETTERS (owned by queue-worker). */
export const DEAD_LETTER_STREAM = 'FAAS_DEAD_LETTERS';
export const DEAD_LETTER_SUBJECT_PREFIX = 'faas.dead.';
// Call ids never hold "*" or ">", so the subject names one call exactly (its dots only add tokens).
export const deadLetterSubject = (functionName: string, callId: string): string => `${DEAD_LETTER_SUBJECT_PREFIX}${functionName}.${callId}`;

/**
 * The raw-event contract's optional headers on `faas.invoke.<function>`
 * (README "Publishing to NATS directly"): where to POST the outcome, a
 * subject to publish it on, and what queued the call.
 */
export const CALLBACK_URL_HEADER = 'Faas-Callback-Url';
export const RESULT_SUBJECT_HEADER = 'Faas-Result-Subject';
export const SOURCE_HEADER = 'Faas-Source';

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
