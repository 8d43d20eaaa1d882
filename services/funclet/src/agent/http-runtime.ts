/**
 * The http runtime: the function is its own HTTP server. At LOAD the agent
 * starts the handler command with PORT=8080 and waits until the port accepts;
 * each call is then forwarded to it over the sandbox's loopback. An HTTP
 * call's answer is the server's response as it came (status, headers, raw
 * body); an event's is `{statusCode, headers, body, isBase64Encoded}`. What the
 * server prints is logged against the call running at that moment.
 * Node builtins only.
 */
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FunctionFailure, LoadError, type AgentRuntime } from './agent-server.js';
import type { CallLog, LogStream } from './call-log.js';
import { killGroup, startCommand } from './child-process.js';
import { TailBuffer } from './tail-buffer.js';
import type { HttpReply } from './http-reply.js';
import { utf8OrUndefined } from './text.js';
import type { HttpHead, InvokeHeader, LoadHeader } from './wire.js';

export const FUNCTION_PORT = 8080;
/** Below the funclet's 10 s limit on LOAD, so the function's own error wins the race. */
const READY_TIMEOUT_MS = 8_000;
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/**
 * The forwarded request's own framing, set here. Hop-by-hop headers never
 * arrive (the edge drops them) and the funclet checks what goes back.
 */
const OWN_REQUEST_FRAMING = new Set(['host', 'content-length']);
/** CloudEvent attribute names (CloudEvents 1.0) and the bytes Node lets into a header value: others are left out rather than fail the call. */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Output of a long-running child process, routed to whichever call is
 * running (one at a time per sandbox), or to the agent's own stream between
 * calls (the funclet logs that as sandbox output).
 */
export class ChildOutput {
  current: CallLog | undefined;
  readonly recent = new TailBuffer(1024);

  attach(child: ChildProcess): void {
    this.pipe(child.stdout!, 'stdout');
    this.pipe(child.stderr!, 'stderr');
  }

  private pipe(readable: NodeJS.ReadableStream, stream: LogStream): void {
    readable.on('data', (chunk: Buffer) => {
      this.recent.push(chunk);
      if (this.current) this.current.write(stream, chunk);
      else (stream === 'stdout' ? process.stdout : process.stderr).write(chunk);
    });
  }
}

/** Polls until something accepts on the port, the child exits, or time runs out. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: ChildOutput): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = output.recent.toString().trim();
      throw new LoadError('InitError', `the server exited (${child.exitCode ?? child.signalCode}) before listening on port ${port}${tail ? `: ${tail}` : ''}`);
    }
    if (await accepts(port)) return;
    await sleep(20);
  }
  throw new LoadError('InitError', `the server did not listen on port ${port} within ${timeoutMs / 1000} seconds`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function createHttpRuntime(options: { port?: number; readyTimeoutMs?: number } = {}): AgentRuntime {
  const port = options.port ?? FUNCTION_PORT;
  const output = new ChildOutput();
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let server: ChildProcess | undefined;

  return {
    async load(header: LoadHeader) {
      if (!header.handler.trim()) throw new LoadError('HandlerNotFound', 'an http function needs the command that starts its server as its handler');
      const child = startCommand(header.handler, { cwd: header.codeDir, env: { ...process.env, PORT: String(port) } });
      server = child;
      output.attach(child);
      child.stdin!.end();
      child.on('error', (error) => output.recent.push(Buffer.from(error.message)));
      try {
        await waitForPort(port, child, options.readyTimeoutMs ?? READY_TIMEOUT_MS, output);
      } catch (error) {
        killGroup(child);
        throw error;
      }
      // The server is the function: without it this sandbox can serve nothing more.
      child.on('exit', (code, signal) => {
        process.stderr.write(`the function's server exited (${code ?? signal}); the runtime stops\n`);
        process.exit(1);
      });
    },

    async invoke(header: InvokeHeader, payload: Buffer, log: CallLog) {
      output.current = log;
      try {
        return await forward(agent, port, header, payload);
      } finally {
        if (output.current === log) output.current = undefined;
      }
    },

    stop() {
      agent.destroy();
      server?.removeAllListeners('exit');
      if (server) killGroup(server);
    },
  };
}

/** An event call's answer: `{statusCode, headers, body, isBase64Encoded}` as JSON. */
function eventResult(head: HttpHead, body: Buffer): Buffer {
  const text = utf8OrUndefined(body);
  const result = { statusCode: head.status, headers: head.headers, body: text ?? body.toString('base64'), isBase64Encoded: text === undefined };
  return Buffer.from(JSON.stringify(result), 'utf8');
}

function forward(agent: Agent, port: number, header: InvokeHeader, payload: Buffer): Promise<Buffer | HttpReply> {
  const http = header.kind === 'http' ? header.http : undefined;
  const method = http?.method ?? 'POST';
  const path = (http?.path ?? '/') + (http?.rawQuery ? `?${http.rawQuery}` : '');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(http?.headers ?? {})) if (!OWN_REQUEST_FRAMING.has(name.toLowerCase())) headers[name] = value;
  if (!http && header.contentType) headers['content-type'] = header.contentType;
  // A CloudEvent reaches the server in binary mode: its data as the body, its attributes as ce-* headers.
  if (!http) for (const [name, value] of Object.entries(header.cloudEvent ?? {})) if (ATTRIBUTE_NAME.test(name) && HEADER_VALUE.test(value)) headers[`ce-${name}`] = value;
  headers['content-length'] = String(payload.length);
  headers['x-call-id'] = header.callId;
  if (header.traceparent) headers.traceparent = header.traceparent;
  if (header.tracestate) headers.tracestate = header.tracestate;

  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          response.destroy();
          reject(new FunctionFailure('ResponseTooLarge', `the function's server answered more than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => reject(new FunctionFailure('ServerError', `the function's server broke off its response: ${error.message}`)));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        const responseHeaders: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) responseHeaders[name] = value;
        }
        const head = { status: response.statusCode ?? 502, headers: responseHeaders };
        // An HTTP call's answer is the server's, byte for byte; an event's is the Lambda-style JSON shape.
        resolve(http ? { head, body } : eventResult(head, body));
      });
    });
    outgoing.on('error', (error) => reject(new FunctionFailure('ServerError', `cannot reach the function's server: ${error.message}`)));
    outgoing.end(payload);
  });
}
