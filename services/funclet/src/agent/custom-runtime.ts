/**
 * Custom runtimes speak the AWS Lambda Runtime API, so existing Lambda
 * bootstraps work unchanged. At LOAD the agent serves the API on
 * 127.0.0.1:9001 and starts `<runtimeDir>/bootstrap` with
 * AWS_LAMBDA_RUNTIME_API pointing at it; the function is ready when the
 * bootstrap first asks for an invocation. Each INVOKE is handed to the
 * bootstrap's pending `GET .../invocation/next`, and its `.../response` or
 * `.../error` answers it. Node builtins only.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { FunctionFailure, LoadError, type AgentRuntime } from './agent-server.js';
import type { CallLog } from './call-log.js';
import { buildHttpEvent } from './event.js';
import { killGroup } from './child-process.js';
import { ChildOutput } from './http-runtime.js';
import { httpReplyOf } from './http-reply.js';
import type { InvokeHeader, LoadHeader } from './wire.js';

export const RUNTIME_API_PORT = 9001;
export const DEFAULT_RUNTIME_DIR = '/opt/runtime';
const API_PREFIX = '/2018-06-01/runtime';
const READY_TIMEOUT_MS = 8_000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

interface PendingInvocation {
  readonly header: InvokeHeader;
  readonly event: Buffer;
  resolve(result: Buffer): void;
  reject(error: Error): void;
}

/** How to start the bootstrap: directly when executable, else through its #! line (bundles may lose the x bit). */
export function bootstrapCommand(path: string): string[] {
  try {
    accessSync(path, constants.X_OK);
    return [path];
  } catch {
    // Not executable for us: read the interpreter from the first line.
  }
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(256);
  const read = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const firstLine = head.subarray(0, read).toString('utf8').split('\n', 1)[0]!;
  if (firstLine.startsWith('#!')) {
    const interpreter = firstLine.slice(2).trim().split(/\s+/).filter(Boolean);
    if (interpreter.length > 0) return [...interpreter, path];
  }
  return ['/bin/sh', path];
}

export function createCustomRuntime(options: { apiPort?: number } = {}): AgentRuntime {
  const apiPort = options.apiPort ?? RUNTIME_API_PORT;
  const output = new ChildOutput();
  const queue: PendingInvocation[] = [];
  const waitingForNext: ServerResponse[] = [];
  const running = new Map<string, PendingInvocation>();
  let functionArn = '';
  let markReady: (() => void) | undefined;
  let failInit: ((error: Error) => void) | undefined;

  const dispatch = () => {
    while (queue.length > 0 && waitingForNext.length > 0) {
      const next = queue.shift()!;
      const response = waitingForNext.shift()!;
      if (response.destroyed) {
        queue.unshift(next);
        continue;
      }
      running.set(next.header.callId, next);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'lambda-runtime-aws-request-id': next.header.callId,
        'lambda-runtime-deadline-ms': String(next.header.deadlineMs),
        'lambda-runtime-invoked-function-arn': functionArn,
      };
      if (next.header.traceparent) headers['lambda-runtime-trace-id'] = next.header.traceparent;
      response.writeHead(200, headers).end(next.event);
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? '';
    const reply = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method === 'GET' && url === `${API_PREFIX}/invocation/next`) {
      markReady?.();
      waitingForNext.push(response);
      dispatch();
      return;
    }
    const match = /^\/2018-06-01\/runtime\/(?:invocation\/([^/]+)\/(response|error)|init\/error)$/.exec(url);
    if (request.method !== 'POST' || !match) return reply(404, { errorMessage: `unknown route ${request.method} ${url}`, errorType: 'NotFound' });
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch (error) {
      return reply(413, { errorMessage: (error as Error).message, errorType: 'RequestTooLarge' });
    }
    if (!match[1]) {
      failInit?.(lambdaError(body, request.headers['lambda-runtime-function-error-type'], 'InitError'));
      return reply(202, { status: 'OK' });
    }
    const callId = decodeURIComponent(match[1]);
    const invocation = running.get(callId);
    if (!invocation) return reply(400, { errorMessage: `no invocation ${callId} is running`, errorType: 'InvalidRequestID' });
    running.delete(callId);
    if (match[2] === 'response') invocation.resolve(asJsonResult(body));
    else invocation.reject(lambdaError(body, request.headers['lambda-runtime-function-error-type'], 'Error'));
    reply(202, { status: 'OK' });
  };

  let server: Server | undefined;
  let child: ChildProcess | undefined;

  return {
    async load(header: LoadHeader) {
      const runtimeDir = header.runtimeDir || DEFAULT_RUNTIME_DIR;
      const bootstrap = join(runtimeDir, 'bootstrap');
      if (!existsSync(bootstrap)) throw new LoadError('InitError', `the custom runtime has no bootstrap (${bootstrap})`);
      functionArn = `arn:faas:function:${header.functionName}:${header.version}`;
      server = createServer((request, response) => void handle(request, response));
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(apiPort, '127.0.0.1', resolve);
      });
      const ready = new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failInit = reject;
      });
      const [command, ...args] = bootstrapCommand(bootstrap);
      child = spawn(command!, args, {
        cwd: header.codeDir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${apiPort}`,
          _HANDLER: header.handler,
          LAMBDA_TASK_ROOT: header.codeDir,
          LAMBDA_RUNTIME_DIR: runtimeDir,
          AWS_LAMBDA_FUNCTION_NAME: header.functionName,
          AWS_LAMBDA_FUNCTION_VERSION: header.version,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(header.memoryMb),
        },
      });
      output.attach(child);
      const exited = new Promise<never>((_, reject) => {
        child!.once('error', (error) => reject(new LoadError('InitError', `cannot start the bootstrap: ${error.message}`)));
        child!.once('exit', (code, signal) => {
          const tail = output.recent.toString().trim();
          reject(new LoadError('InitError', `the bootstrap exited (${code ?? signal}) before asking for an invocation${tail ? `: ${tail}` : ''}`));
        });
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LoadError('InitError', `the bootstrap did not ask for an invocation within ${READY_TIMEOUT_MS / 1000} seconds`)), READY_TIMEOUT_MS);
      });
      try {
        await Promise.race([ready, exited, timedOut]);
      } catch (error) {
        killGroup(child);
        throw error instanceof LoadError ? error : new LoadError('InitError', (error as Error).message);
      } finally {
        clearTimeout(timer);
      }
      exited.catch(() => {});
      // The bootstrap is the runtime: once it is gone this sandbox can serve nothing more.
      child.on('exit', (code, signal) => {
        process.stderr.write(`the bootstrap exited (${code ?? signal}); the runtime stops\n`);
        process.exit(1);
      });
    },

    invoke(header: InvokeHeader, payload: Buffer, log: CallLog) {
      const event = header.kind === 'http' ? Buffer.from(JSON.stringify(buildHttpEvent(header.http, payload)), 'utf8') : payload;
      const answered = new Promise<Buffer>((resolve, reject) => {
        const settle = () => {
          if (output.current === log) output.current = undefined;
        };
        queue.push({
          header,
          event,
          resolve: (result) => {
            settle();
            resolve(result);
          },
          reject: (error) => {
            settle();
            reject(error);
          },
        });
        // One call at a time per sandbox: the bootstrap's output is this call's.
        output.current = log;
        dispatch();
      });
      // The bootstrap answers HTTP calls in the Lambda proxy shape, as JSON: shaped here, once.
      return header.kind === 'http' ? answered.then((result) => httpReplyOf(JSON.parse(result.toString('utf8')))) : answered;
    },

    stop() {
      child?.removeAllListeners('exit');
      if (child) killGroup(child);
      for (const response of waitingForNext) response.destroy();
      server?.close();
    },
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the body exceeds ${MAX_BODY_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** A response body that is JSON is the result as is; anything else becomes a JSON string. */
function asJsonResult(body: Buffer): Buffer {
  const text = body.toString('utf8');
  if (text.trim() === '') return Buffer.from('null');
  try {
    JSON.parse(text);
    return body;
  } catch {
    return Buffer.from(JSON.stringify(text), 'utf8');
  }
}

function lambdaError(body: Buffer, typeHeader: string | string[] | undefined, fallbackType: string): Error {
  let parsed: { errorMessage?: unknown; errorType?: unknown; stackTrace?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) ?? {};
  } catch {
    parsed = { errorMessage: body.toString('utf8') };
  }
  const type = typeof parsed.errorType === 'string' && parsed.errorType ? parsed.errorType : typeof typeHeader === 'string' && typeHeader ? typeHeader : fallbackType;
  const message = typeof parsed.errorMessage === 'string' ? parsed.errorMessage : '';
  const stack = Array.isArray(parsed.stackTrace) ? parsed.stackTrace.map(String).join('\n') : '';
  return fallbackType === 'InitError' ? new LoadError(type, message) : new FunctionFailure(type, message, stack);
}
