import type { IncomingHttpHeaders } from 'node:http';
import { PlatformError } from '@faas/errors';

/**
 * CloudEvents 1.0 over HTTP (the HTTP protocol binding), on the event
 * routes: the event's data becomes the invocation's payload, so the handler
 * gets it as its event, and the attributes travel beside it.
 * - binary mode: attributes in `ce-*` headers, the body is the data as is;
 * - structured mode: `Content-Type: application/cloudevents+json`, the body
 *   is the whole event (`data`, or `data_base64` for bytes).
 * Batches are refused (415): one request is one call.
 */
export interface CloudEventInput {
  readonly payload: Buffer;
  readonly contentType: string;
}

export interface CloudEventPayload {
  readonly payload: Buffer;
  readonly contentType: string;
  /** Every attribute by its spec name (`type`, not the `ce-type` header), extensions included: the handler's `context.cloudEvent`. */
  readonly attributes: Record<string, string>;
}

const SPEC_VERSION = '1.0';
const REQUIRED = ['id', 'source', 'type'] as const;
const STRUCTURED = /^application\/cloudevents\+json\b/i;
const BATCH = /^application\/cloudevents-batch\+json\b/i;
/** Attribute names are lower-case letters and digits (CloudEvents 1.0, "Attribute Naming Convention"). */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

/** The request as a CloudEvent, or undefined when it is not one (then it is invoked as before). */
export function cloudEventFrom(headers: IncomingHttpHeaders, input: CloudEventInput): CloudEventPayload | undefined {
  if (BATCH.test(input.contentType)) throw new PlatformError('unsupported_media_type', 'CloudEvents batches are not accepted: send one event per request');
  if (STRUCTURED.test(input.contentType)) return structured(input.payload);
  if (headers['ce-specversion'] !== undefined) return binary(headers, input);
  return undefined;
}

function binary(headers: IncomingHttpHeaders, input: CloudEventInput): CloudEventPayload {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue;
    attributes[name.slice('ce-'.length)] = Array.isArray(value) ? value.join(', ') : value;
  }
  checkRequired(attributes);
  // Binary mode has no datacontenttype attribute: the request's Content-Type is it.
  if (input.contentType) attributes.datacontenttype = input.contentType;
  return { payload: input.payload, contentType: input.contentType, attributes };
}

function structured(body: Buffer): CloudEventPayload {
  let event: unknown;
  try {
    event = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new PlatformError('bad_request', `the CloudEvent is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new PlatformError('bad_request', 'a structured CloudEvent is a JSON object');
  const fields = event as Record<string, unknown>;
  if ('data' in fields && 'data_base64' in fields) throw new PlatformError('bad_request', 'a CloudEvent carries data or data_base64, not both');
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'data' || name === 'data_base64') continue;
    if (!ATTRIBUTE_NAME.test(name)) throw new PlatformError('bad_request', `CloudEvent attribute name ${JSON.stringify(name.slice(0, 40))} must be 1-20 lower-case letters or digits`);
    if (value === null) continue;
    if (typeof value === 'object') throw new PlatformError('bad_request', `CloudEvent attribute "${name}" must be a string, number or boolean`);
    attributes[name] = String(value);
  }
  checkRequired(attributes);
  const declaredType = attributes.datacontenttype;
  if (typeof fields.data_base64 === 'string') {
    return { payload: Buffer.from(fields.data_base64, 'base64'), contentType: declaredType ?? 'application/octet-stream', attributes };
  }
  if (fields.data_base64 !== undefined) throw new PlatformError('bad_request', 'CloudEvent data_base64 must be a base64 string');
  if (fields.data === undefined) return { payload: Buffer.alloc(0), contentType: declaredType ?? '', attributes };
  // A string declared as non-JSON is the data's own text; anything else is JSON.
  if (typeof fields.data === 'string' && declaredType !== undefined && !/json/i.test(declaredType)) {
    return { payload: Buffer.from(fields.data, 'utf8'), contentType: declaredType, attributes };
  }
  return { payload: Buffer.from(JSON.stringify(fields.data), 'utf8'), contentType: declaredType ?? 'application/json', attributes };
}

function checkRequired(attributes: Record<string, string>): void {
  if (attributes.specversion !== SPEC_VERSION) throw new PlatformError('bad_request', `CloudEvents specversion must be "${SPEC_VERSION}"`);
  for (const name of REQUIRED) {
    if (!attributes[name]) throw new PlatformError('bad_request', `the CloudEvent has no "${name}" attribute`);
  }
}
