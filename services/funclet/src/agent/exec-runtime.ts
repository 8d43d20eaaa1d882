/**
 * The exec runtime: any program. The handler is a command line run with
 * /bin/sh in the code directory, one process per request: the payload on
 * stdin, the answer on stdout, request metadata in `Http_*` variables, and
 * stderr into the call's log. A non-zero exit is an `ExitError` whose message
 * ends with stderr's last bytes. The call ends when the command exits, and
 * so does everything it started: its process group is killed then. Node
 * builtins only.
 */
import { FunctionFailure, LoadError, type AgentRuntime } from './agent-server.js';
import type { CallLog } from './call-log.js';
import { killGroup, killLeftovers, startCommand } from './child-process.js';
import { TailBuffer } from './tail-buffer.js';
import { requestEnvironment, stdoutAsResult } from './exec-env.js';
import type { HttpReply } from './http-reply.js';
import { utf8OrUndefined } from './text.js';
import type { InvokeHeader, LoadHeader } from './wire.js';

/** A response bigger than this is refused rather than held in the sandbox's memory. */
export const MAX_STDOUT_BYTES = 32 * 1024 * 1024;
/**
 * How long output may still arrive after the command exited and its group
 * was killed: only a process that left the group (setsid) can still hold the
 * pipes, and the call does not wait for it.
 */
const STRAGGLER_MS = 200;

export function createExecRuntime(): AgentRuntime {
  let commandLine = '';
  let codeDir = '/var/task';

  return {
    async load(header: LoadHeader) {
      if (!header.handler.trim()) throw new LoadError('HandlerNotFound', 'an exec function needs a command line as its handler');
      commandLine = header.handler;
      codeDir = header.codeDir;
    },

    async invoke(header: InvokeHeader, payload: Buffer, log: CallLog) {
      const stdout = await runOnce(commandLine, codeDir, header, payload, log);
      return header.kind === 'http' ? httpResult(stdout) : stdoutAsResult(stdout);
    },
  };
}

function runOnce(commandLine: string, cwd: string, header: InvokeHeader, payload: Buffer, log: CallLog): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = startCommand(commandLine, { cwd, env: { ...process.env, ...requestEnvironment(header) } });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let tooLarge = false;
    const stderrTail = new TailBuffer();
    // The host kills the sandbox at the deadline; this only keeps a stray
    // process from outliving its call if the host is late.
    const timer = setTimeout(() => killGroup(child), Math.max(0, header.deadlineMs - Date.now()) + 1_000);

    child.stdout!.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) {
        tooLarge = true;
        killGroup(child);
        return;
      }
      stdout.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderrTail.push(chunk);
      log.write('stderr', chunk);
    });
    // A program that does not read its stdin closes the pipe early: not an error.
    child.stdin!.on('error', () => {});
    child.stdin!.end(payload);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new FunctionFailure('ExitError', `cannot start ${JSON.stringify(commandLine)}: ${error.message}`));
    });
    child.once('exit', () => {
      // Background processes of the command die with it: one process (group) per request.
      killLeftovers(child);
      setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, STRAGGLER_MS).unref();
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (tooLarge) {
        reject(new FunctionFailure('OutputTooLarge', `the command wrote more than ${MAX_STDOUT_BYTES} bytes to stdout`));
        return;
      }
      if (code === 0) {
        resolve(Buffer.concat(stdout));
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      const tail = stderrTail.toString().trim();
      reject(new FunctionFailure('ExitError', tail ? `${commandLine} ${how}: ${tail}` : `${commandLine} ${how}`));
    });
  });
}

/** stdout as a 200 response body, typed by what it looks like; the bytes go as they are. */
function httpResult(stdout: Buffer): HttpReply {
  const text = utf8OrUndefined(stdout);
  let contentType = 'application/octet-stream';
  if (text !== undefined) {
    contentType = 'text/plain; charset=utf-8';
    try {
      if (text.trim() !== '') {
        JSON.parse(text);
        contentType = 'application/json; charset=utf-8';
      }
    } catch {
      // Not JSON: text.
    }
  }
  return { head: { status: 200, headers: { 'content-type': contentType } }, body: stdout };
}
