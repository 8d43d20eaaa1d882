/**
 * The Node.js runtime agent: PID 1 of every nodejs sandbox. It listens on a
 * unix socket in the bind-mounted /run/faas, loads one function's module when
 * the funclet sends LOAD, and runs its handler for every INVOKE. Node
 * builtins only: this file and its siblings are all the sandbox sees of the
 * platform (mounted read-only at /opt/faas).
 */
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { isAbsolute, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildEvent } from './event.js';
import { FrameDecoder, FrameType, encodeFrame, type ErrorHeader, type Frame, type InvokeHeader, type LoadHeader } from './wire.js';

const SOCKET_PATH = process.env.FAAS_AGENT_SOCKET || '/run/faas/agent.sock';
const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs'];

type Handler = (event: unknown, context: unknown) => unknown;

interface LoadedFunction {
  readonly handler: Handler;
  readonly functionName: string;
  readonly version: string;
  readonly memoryMb: number;
}

interface InFlightCall {
  readonly socket: Socket;
  readonly requestId: number;
}

let loaded: LoadedFunction | undefined;
let loading: Promise<void> | undefined;
/** Calls running now, so an uncaught error can be reported against them. */
const inFlight = new Set<InFlightCall>();

class LoadError extends Error {
  constructor(
    readonly type: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function send(socket: Socket, requestId: number, type: number, header?: unknown, body?: Uint8Array): void {
  if (socket.destroyed || !socket.writable) return;
  socket.write(encodeFrame(requestId, type, header, body));
}

function errorHeader(error: unknown, fallbackType = 'Error'): ErrorHeader {
  if (error instanceof Error) {
    return { type: error.name || fallbackType, message: error.message, stack: error.stack ?? '' };
  }
  return { type: fallbackType, message: typeof error === 'string' ? error : safeString(error), stack: '' };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

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

async function load(socket: Socket, requestId: number, header: LoadHeader): Promise<void> {
  if (loaded || loading) {
    send(socket, requestId, FrameType.ERROR, { type: 'InitError', message: 'this sandbox already loaded a function' });
    return;
  }
  Object.assign(process.env, header.env, {
    FAAS_FUNCTION_NAME: header.functionName,
    FAAS_FUNCTION_VERSION: header.version,
    FAAS_FUNCTION_MEMORY_MB: String(header.memoryMb),
  });
  loading = resolveHandler(header.codeDir, header.handler).then((handler) => {
    loaded = { handler, functionName: header.functionName, version: header.version, memoryMb: header.memoryMb };
  });
  try {
    await loading;
    send(socket, requestId, FrameType.OK);
  } catch (error) {
    loading = undefined;
    const reply = error instanceof LoadError ? { type: error.type, message: error.message, stack: error.stack ?? '' } : errorHeader(error, 'InitError');
    send(socket, requestId, FrameType.ERROR, reply);
  }
}

async function invoke(socket: Socket, requestId: number, header: InvokeHeader, payload: Buffer): Promise<void> {
  const fn = loaded;
  if (!fn) {
    send(socket, requestId, FrameType.ERROR, { type: 'InitError', message: 'no function is loaded in this sandbox' });
    return;
  }
  const call: InFlightCall = { socket, requestId };
  inFlight.add(call);
  const context = {
    callId: header.callId,
    functionName: fn.functionName,
    functionVersion: fn.version,
    memoryLimitInMB: fn.memoryMb,
    getRemainingTimeInMillis: () => Math.max(0, header.deadlineMs - Date.now()),
  };
  let reply: { type: number; header?: unknown; body?: Uint8Array };
  try {
    const result = await callHandler(fn.handler, buildEvent(header, payload), context);
    reply = { type: FrameType.RESULT, body: Buffer.from(JSON.stringify(result ?? null) ?? 'null', 'utf8') };
  } catch (error) {
    reply = { type: FrameType.FUNCTION_ERROR, header: errorHeader(error) };
  }
  // Already answered when an uncaught error was reported against this call.
  if (!inFlight.delete(call)) return;
  send(socket, requestId, reply.type, reply.header, reply.body);
}

/**
 * Runs a handler written either way: `async (event, context)` returning the
 * result, or the older `(event, context, callback)` style.
 */
function callHandler(handler: Handler, event: unknown, context: unknown): Promise<unknown> {
  if (handler.length < 3) return Promise.resolve(handler(event, context));
  return new Promise((resolve, reject) => {
    const callback = (error: unknown, result?: unknown) => (error ? reject(error) : resolve(result));
    Promise.resolve((handler as (e: unknown, c: unknown, cb: typeof callback) => unknown)(event, context, callback)).then(
      (returned) => {
        if (returned !== undefined) resolve(returned);
      },
      reject,
    );
  });
}

function onFrame(socket: Socket, frame: Frame): void {
  switch (frame.type) {
    case FrameType.LOAD:
      void load(socket, frame.requestId, frame.header as LoadHeader);
      break;
    case FrameType.INVOKE:
      void invoke(socket, frame.requestId, frame.header as InvokeHeader, frame.body);
      break;
    default:
      send(socket, frame.requestId, FrameType.ERROR, { type: 'ProtocolError', message: `unknown frame type ${frame.type}` });
  }
}

/** An error nobody awaited: it belongs to whatever the function is doing now. */
function reportUncaught(error: unknown): void {
  if (inFlight.size === 0) {
    process.stderr.write(`uncaught error outside any invocation: ${error instanceof Error ? error.stack : safeString(error)}\n`);
    return;
  }
  const header = errorHeader(error);
  for (const call of inFlight) send(call.socket, call.requestId, FrameType.FUNCTION_ERROR, header);
  inFlight.clear();
}

process.on('uncaughtException', reportUncaught);
process.on('unhandledRejection', reportUncaught);
// The funclet may die and close our stdout pipe; logging must not kill the runtime.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

if (existsSync(SOCKET_PATH)) unlinkSync(SOCKET_PATH);
const server = createServer((socket) => {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      process.stderr.write(`dropping connection: ${(error as Error).message}\n`);
      socket.destroy();
      return;
    }
    for (const frame of frames) onFrame(socket, frame);
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    for (const call of inFlight) if (call.socket === socket) inFlight.delete(call);
  });
});
server.listen(SOCKET_PATH);
