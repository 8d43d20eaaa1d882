/**
 * The nodejs runtime: loads `file.export` from the code directory (ESM or
 * CommonJS) and calls it per invocation, async or callback style. What the
 * handler prints (console, process.stdout/stderr) is tagged with its call
 * through AsyncLocalStorage, so concurrent calls never mix their logs.
 * Node builtins only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LoadError, errorHeader, type AgentRuntime } from './agent-server.js';
import { CallLog, type LogStream } from './call-log.js';
import { buildEvent } from './event.js';
import type { CallSpans } from './call-spans.js';
import { buildContext, type FunctionIdentity } from './handler-context.js';
import { httpReplyOf, type HttpReply } from './http-reply.js';
import type { InvokeHeader, LoadHeader } from './wire.js';

const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs'];

type Handler = (event: unknown, context: unknown, callback?: unknown) => unknown;

/** "dir/index.handler" → the module file in codeDir and the export's name. */
async function resolveHandler(codeDir: string, handlerSpec: string): Promise<Handler> {
  const dot = handlerSpec.lastIndexOf('.');
  const moduleName = dot > 0 ? handlerSpec.slice(0, dot) : '';
  const exportName = dot > 0 ? handlerSpec.slice(dot + 1) : '';
  if (!moduleName || !exportName) {
    throw new LoadError('HandlerNotFound', `handler "${handlerSpec}" is not of the form file.export`);
  }
  const relative = normalize(moduleName);
  if (isAbsolute(relative) || relative.startsWith('..')) {
    throw new LoadError('HandlerNotFound', `handler "${handlerSpec}" points outside the code directory`);
  }
  const file = MODULE_EXTENSIONS.map((extension) => join(codeDir, relative + extension)).find((candidate) => existsSync(candidate));
  if (!file) {
    throw new LoadError('HandlerNotFound', `no module ${relative}.js, .mjs or .cjs in the function's code`);
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const cause = errorHeader(error);
    throw new LoadError('InitError', `${cause.type}: ${cause.message}`, { cause: error });
  }
  // CommonJS modules arrive as { default: module.exports } plus whatever
  // named exports Node could detect statically.
  const commonJs = namespace.default as Record<string, unknown> | undefined;
  const candidate = namespace[exportName] ?? (commonJs !== null && typeof commonJs === 'object' ? commonJs[exportName] : undefined);
  if (typeof candidate !== 'function') {
    throw new LoadError('HandlerNotFound', `${relative} does not export a function named "${exportName}"`);
  }
  return candidate as Handler;
}

/**
 * Runs a handler written either way: `async (event, context)` returning the
 * result, or `(event, context, callback)`. A callback handler's result is
 * whichever comes first: the callback, or a promise it returns.
 */
export function callHandler(handler: Handler, event: unknown, context: unknown): Promise<unknown> {
  if (handler.length < 3) {
    try {
      return Promise.resolve(handler(event, context));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise((resolve, reject) => {
    const callback = (error: unknown, result?: unknown) => (error ? reject(error) : resolve(result));
    try {
      Promise.resolve(handler(event, context, callback)).then((returned) => {
        if (returned !== undefined) resolve(returned);
      }, reject);
    } catch (error) {
      reject(error);
    }
  });
}

/** The call whose code is running now, for output written from it. */
const currentCall = new AsyncLocalStorage<CallLog>();

type Write = (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;

/**
 * Routes writes made while a call runs to that call's log; writes outside any
 * call (module load, stray timers of no call) keep going to the real stream.
 */
function captureStream(stream: NodeJS.WriteStream, name: LogStream): void {
  const original = stream.write.bind(stream) as Write;
  const patched: Write = (chunk, encoding, callback) => {
    const log = currentCall.getStore();
    if (!log) return original(chunk, encoding, callback);
    const bytes =
      typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array);
    log.write(name, bytes);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
  stream.write = patched as typeof stream.write;
}

function runCall(fn: Handler, identity: FunctionIdentity, header: InvokeHeader, payload: Buffer, log: CallLog, spans?: CallSpans): Promise<Uint8Array | HttpReply> {
  const context = buildContext(header, identity, undefined, spans);
  return currentCall.run(log, async () => {
    const result = await callHandler(fn, buildEvent(header, payload), context);
    if (header.kind === 'http') return httpReplyOf(result);
    return Buffer.from(JSON.stringify(result ?? null) ?? 'null', 'utf8');
  });
}

/** Modules of ours, in the agent's folder, that take the paths a function's module takes (ESM, and CommonJS through import()). */
const WARM_UP_MODULES = ['./warmup/probe.mjs', './warmup/probe.cjs'];

/**
 * The first import() of a file sets up the ESM loader's file handling and,
 * for CommonJS, its export lexer: ~3–5 ms a function's LOAD would pay. The
 * first call through runCall compiles that path. Both happen here, at boot,
 * on modules of ours; nothing under the code directory is touched (Node
 * caches package.json lookups per folder), and nothing is left in the
 * environment or the module graph that a function could see.
 */
async function warmUp(): Promise<void> {
  const identity: FunctionIdentity = { functionName: '', version: '0', memoryMb: 0 };
  const header: InvokeHeader = { callId: 'warm-up', kind: 'event', contentType: 'application/json', deadlineMs: Date.now() + 1000 };
  for (const specifier of WARM_UP_MODULES) {
    const namespace = (await import(new URL(specifier, import.meta.url).href)) as Record<string, unknown>;
    const probe = (namespace.probe ?? (namespace.default as Record<string, unknown> | undefined)?.probe) as Handler;
    await runCall(probe, identity, header, Buffer.from('{"warm":true}'), new CallLog('warm-up', () => {}));
  }
}

export function createNodeRuntime(): AgentRuntime {
  let handler: Handler | undefined;
  let identity: FunctionIdentity | undefined;
  captureStream(process.stdout, 'stdout');
  captureStream(process.stderr, 'stderr');

  return {
    warmUp,

    async load(header: LoadHeader) {
      handler = await resolveHandler(header.codeDir, header.handler);
      identity = { functionName: header.functionName, version: header.version, memoryMb: header.memoryMb };
    },

    invoke(header: InvokeHeader, payload: Buffer, log: CallLog, spans?: CallSpans) {
      return runCall(handler!, identity!, header, payload, log, spans);
    },
  };
}
