/**
 * The environment of an exec function's process, in the style of OpenFaaS's
 * classic watchdog: the request's method, path, query and each header as
 * `Http_*` variables. Node builtins only.
 */
import type { InvokeHeader } from './wire.js';

/** "x-custom-header" → "Http_X_Custom_Header" (canonical header case, "-" → "_"). */
export function headerVariableName(header: string): string | undefined {
  const canonical = header
    .split('-')
    .map((word) => (word ? word[0]!.toUpperCase() + word.slice(1).toLowerCase() : word))
    .join('_');
  const name = `Http_${canonical}`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : undefined;
}

/** Variables describing one call, to add to the function's own environment. */
export function requestEnvironment(header: InvokeHeader): Record<string, string> {
  const env: Record<string, string> = {};
  if (header.kind === 'http' && header.http) {
    for (const [name, value] of Object.entries(header.http.headers)) {
      const variable = headerVariableName(name);
      if (variable && !value.includes('\0')) env[variable] = value;
    }
    env.Http_Method = header.http.method;
    env.Http_Path = header.http.path;
    env.Http_Query = header.http.rawQuery;
    // An HTTP trigger's path parameters: ":user_id" → Http_Path_Param_user_id.
    for (const [name, value] of Object.entries(header.http.pathParameters ?? {})) {
      if (/^[A-Za-z0-9_]+$/.test(name) && !value.includes('\0')) env[`Http_Path_Param_${name}`] = value;
    }
  } else {
    // An event arrives as if POSTed to the function's root.
    env.Http_Method = 'POST';
    env.Http_Path = '/';
    env.Http_Query = '';
    // A CloudEvent's attributes as its binary-mode headers would be (ce-type → Http_Ce_Type).
    for (const [name, value] of Object.entries(header.cloudEvent ?? {})) {
      const variable = headerVariableName(`ce-${name}`);
      if (variable && !value.includes('\0')) env[variable] = value;
    }
  }
  if (header.contentType) env.Http_Content_Type = header.contentType;
  env.FAAS_CALL_ID = header.callId;
  env.FAAS_DEADLINE_MS = String(header.deadlineMs);
  // OpenTelemetry's environment carrier for processes.
  if (header.traceparent) env.TRACEPARENT = header.traceparent;
  if (header.tracestate) env.TRACESTATE = header.tracestate;
  return env;
}

/**
 * An exec function's result for an event invocation: its stdout as JSON when
 * it is JSON, otherwise stdout as a JSON string.
 */
export function stdoutAsResult(stdout: Buffer): Buffer {
  const text = stdout.toString('utf8');
  if (text.trim() !== '') {
    try {
      JSON.parse(text);
      return Buffer.from(text.trim(), 'utf8');
    } catch {
      // Plain text: returned as a string below.
    }
  }
  return Buffer.from(JSON.stringify(text), 'utf8');
}
