// Runs an OpenFaaS node18/node20 template handler (function/handler.js,
// `async (event, context)` with context.status().headers().succeed()/fail())
// unchanged on this platform's nodejs runtime. It rebuilds the event the
// template's express server gives the handler, and answers as that server
// does. Written into the bundle by `faas deploy`; do not edit the handler.
'use strict';

const handler = require('./function/handler');

/** Parses the body as the template's body parsers do: text/*, JSON, forms; anything else gives {}. */
function parseBody(raw, contentType) {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type.startsWith('text/')) return raw.toString('utf8');
  if (type === 'application/json' || type.endsWith('+json')) {
    if (raw.length === 0) return {};
    return JSON.parse(raw.toString('utf8'));
  }
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  return {};
}

/** The HTTP request as our runtime describes it; an event invocation counts as a POST of the event as JSON. */
function requestOf(event) {
  const isHttp = event !== null && typeof event === 'object' && typeof event.method === 'string' && typeof event.isBase64Encoded === 'boolean';
  if (isHttp) return { ...event, raw: Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') };
  const raw = Buffer.isBuffer(event) ? event : Buffer.from(typeof event === 'string' ? event : JSON.stringify(event ?? null));
  return { method: 'POST', path: '/', query: {}, headers: { 'content-type': 'application/json' }, raw };
}

class FunctionContext {
  constructor(done) {
    this.statusCode = 200;
    this.headerValues = {};
    this.done = done;
    this.calls = 0;
  }
  status(code) {
    if (!code) return this.statusCode;
    this.statusCode = code;
    return this;
  }
  headers(values) {
    if (!values) return this.headerValues;
    this.headerValues = values;
    return this;
  }
  succeed(value) {
    this.calls += 1;
    this.done(undefined, value);
  }
  fail(error) {
    if (Number(this.status()) === 200) this.status(500);
    this.calls += 1;
    this.done(error);
  }
}

/** What express's res.send makes of a value: strings as HTML unless told otherwise, buffers as bytes. */
function responseOf(status, headers, value) {
  const own = Object.fromEntries(Object.entries(headers).map(([name, v]) => [name.toLowerCase(), String(v)]));
  if (Buffer.isBuffer(value)) return { statusCode: status, headers: { 'content-type': 'application/octet-stream', ...own }, body: value.toString('base64'), isBase64Encoded: true };
  const text = value === undefined || value === null ? '' : Array.isArray(value) || (typeof value === 'object' && value.constructor === Object) ? JSON.stringify(value) : String(value);
  return { statusCode: status, headers: { 'content-type': 'text/html; charset=utf-8', ...own }, body: text, isBase64Encoded: false };
}

exports.handler = async (event) => {
  const request = requestOf(event);
  const headers = { ...request.headers };
  // As the template: no content type reads as text/plain.
  if (!headers['content-type']) headers['content-type'] = 'text/plain';
  let body;
  try {
    body = parseBody(request.raw, headers['content-type']);
  } catch (error) {
    return { statusCode: 400, headers: { 'content-type': 'text/html; charset=utf-8' }, body: String(error.message), isBase64Encoded: false };
  }
  const fnEvent = { body, headers, method: request.method, query: request.query, path: request.path };
  return new Promise((resolve) => {
    const context = new FunctionContext((error, value) => {
      if (error) {
        console.error(error);
        resolve(responseOf(context.status(), {}, error && error.toString ? error.toString() : error));
      } else {
        resolve(responseOf(context.status(), context.headers(), value));
      }
    });
    Promise.resolve(handler(fnEvent, context, (error, value) => context.done(error, value)))
      .then((value) => {
        if (!context.calls) context.succeed(value);
      })
      .catch((error) => context.done(error));
  });
};
