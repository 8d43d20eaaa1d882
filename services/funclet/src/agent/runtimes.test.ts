// The agent modes run in-process here (and the python agent as a real
// process), against small programs in a temp code directory: what a function
// sees and what the platform gets back, without runc.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../sandbox/agent-client.js';
import type { AgentRuntime } from './agent-server.js';
import { CallLog } from './call-log.js';
import { createCustomRuntime } from './custom-runtime.js';
import { createExecRuntime } from './exec-runtime.js';
import { createHttpRuntime } from './http-runtime.js';
import type { HttpReply } from './http-reply.js';
import { FrameType, type InvokeHeader, type LoadHeader, type LogHeader } from './wire.js';

const codeDir = mkdtempSync(join(tmpdir(), 'faas-agent-test-'));
const started: AgentRuntime[] = [];
afterAll(() => {
  for (const runtime of started) runtime.stop?.();
  rmSync(codeDir, { recursive: true, force: true });
});

function load(handler: string, extra: Partial<LoadHeader> = {}): LoadHeader {
  return { handler, codeDir, env: {}, functionName: 'fn', version: '2', memoryMb: 128, ...extra };
}

function call(fields: Partial<InvokeHeader> = {}): InvokeHeader {
  return { callId: 'call-1', kind: 'event', contentType: '', deadlineMs: Date.now() + 10_000, ...fields };
}

function logRecorder(callId = 'call-1') {
  const lines: Array<{ stream: string; text: string }> = [];
  const log = new CallLog(callId, (header: LogHeader, bytes: Buffer) => lines.push({ stream: header.stream, text: bytes.toString() }));
  return { log, text: (stream: string) => lines.filter((line) => line.stream === stream).map((line) => line.text).join('') };
}

/** An HTTP call's answer as the agent sends it: head, and the body as text. */
function httpAnswer(answer: Uint8Array | HttpReply): { head: HttpReply['head']; body: string } {
  if (answer instanceof Uint8Array) throw new Error('expected an HTTP answer, got an event result');
  return { head: answer.head, body: Buffer.from(answer.body).toString() };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('exec runtime', () => {
  writeFileSync(join(codeDir, 'count.sh'), '#!/bin/sh\nwc -c | tr -d " "\necho "method=$Http_Method path=$Http_Path q=$Http_Query h=$Http_X_Thing" >&2\n');
  writeFileSync(join(codeDir, 'fail.sh'), 'echo partial; echo "bad things happened" >&2; exit 3\n');

  it('pipes the body through the command and returns JSON stdout as JSON', async () => {
    const runtime = createExecRuntime();
    await runtime.load(load('sh count.sh'));
    const { log, text } = logRecorder();
    const result = await runtime.invoke(call(), Buffer.from('hello'), log);
    expect(JSON.parse(Buffer.from(result as Uint8Array).toString())).toBe(5);
    expect(text('stderr')).toContain('method=POST path=/');
  });

  it('puts request headers in Http_ variables and answers HTTP calls with stdout as the body', async () => {
    const runtime = createExecRuntime();
    await runtime.load(load('echo "$Http_Method $Http_Path $Http_Query $Http_X_Thing"'));
    const result = await runtime.invoke(
      call({ kind: 'http', http: { method: 'PATCH', path: '/x', rawQuery: 'a=1', headers: { 'x-thing': 'yes' } } }),
      Buffer.alloc(0),
      logRecorder().log,
    );
    expect(httpAnswer(result)).toEqual({
      head: { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } },
      body: 'PATCH /x a=1 yes\n',
    });
  });

  it('gives a CloudEvent\'s attributes as the Http_Ce_ variables its binary-mode headers would be', async () => {
    const runtime = createExecRuntime();
    await runtime.load(load('echo "$Http_Ce_Type from $Http_Ce_Source"'));
    const result = await runtime.invoke(call({ cloudEvent: { specversion: '1.0', id: 'e-1', source: '/shop', type: 'order.created' } }), Buffer.from('{}'), logRecorder().log);
    expect(JSON.parse(Buffer.from(result as Uint8Array).toString())).toBe('order.created from /shop\n');
  });

  it('reports a non-zero exit as ExitError with the end of stderr', async () => {
    const runtime = createExecRuntime();
    await runtime.load(load('sh fail.sh'));
    await expect(runtime.invoke(call(), Buffer.alloc(0), logRecorder().log)).rejects.toMatchObject({
      type: 'ExitError',
      message: expect.stringContaining('exited with status 3: bad things happened'),
    });
  });

  it('returns plain text stdout as a JSON string', async () => {
    const runtime = createExecRuntime();
    await runtime.load(load('cat'));
    const result = await runtime.invoke(call({ contentType: 'text/plain' }), Buffer.from('just text'), logRecorder().log);
    expect(Buffer.from(result as Uint8Array).toString()).toBe('"just text"');
  });
});

/** Whether a pid is a running process (a zombie waiting for its reaper counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

describe('exec runtime: what a call starts ends with it', () => {
  it('kills a background child that ignores SIGTERM once the command exits', async () => {
    const runtime = createExecRuntime();
    await runtime.load(load(`(trap '' TERM; exec sleep 300) </dev/null >/dev/null 2>&1 & echo $!`));
    const result = await runtime.invoke(call(), Buffer.alloc(0), logRecorder().log);
    const pid = Number(JSON.parse(Buffer.from(result as Uint8Array).toString()));
    expect(pid).toBeGreaterThan(1);
    for (let tries = 0; running(pid) && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(running(pid), `the background sleep (${pid}) outlived its call`).toBe(false);
  });

  it('does not wait for a background child that keeps stdout open', async () => {
    const runtime = createExecRuntime();
    await runtime.load(load('sleep 300 & echo started'));
    // A deadline past the test's own timeout: waiting for the sleep would fail the test.
    const result = await runtime.invoke(call({ deadlineMs: Date.now() + 600_000 }), Buffer.alloc(0), logRecorder().log);
    expect(Buffer.from(result as Uint8Array).toString()).toBe('"started\\n"');
  });
});

describe('http runtime', () => {
  it('starts the server, forwards requests and returns the response shaped', async () => {
    writeFileSync(
      join(codeDir, 'server.cjs'),
      `require('node:http').createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          // Logged well before answering: the pipe may lag behind the HTTP response.
          console.log('serving ' + req.method + ' ' + req.url);
          setTimeout(() => {
            res.setHeader('x-seen', req.headers['x-thing'] || req.headers['ce-type'] || 'none');
            res.writeHead(req.url.startsWith('/missing') ? 404 : 200, { 'content-type': 'text/plain' });
            res.end(req.method + ' ' + req.url + ' ' + body);
          }, 100);
        });
      }).listen(Number(process.env.PORT), '127.0.0.1');`,
    );
    const port = await freePort();
    const runtime = createHttpRuntime({ port });
    started.push(runtime);
    await runtime.load(load(`${process.execPath} server.cjs`));
    const { log, text } = logRecorder();
    const result = httpAnswer(
      await runtime.invoke(call({ kind: 'http', http: { method: 'PUT', path: '/missing/a', rawQuery: 'q=1', headers: { 'x-thing': 'yes' } } }), Buffer.from('body!'), log),
    );
    expect(result).toMatchObject({ head: { status: 404, headers: { 'x-seen': 'yes' } }, body: 'PUT /missing/a?q=1 body!' });
    expect(text('stdout')).toContain('serving PUT /missing/a?q=1');

    const event = JSON.parse(Buffer.from((await runtime.invoke(call(), Buffer.from('{"a":1}'), logRecorder().log)) as Uint8Array).toString());
    expect(event).toMatchObject({ statusCode: 200, body: 'POST / {"a":1}' });
    // A CloudEvent arrives in binary mode; an attribute no header can carry is left out, not a failed call.
    const cloudEvent = JSON.parse(Buffer.from((await runtime.invoke(call({ cloudEvent: { type: 'order.created', note: 'two\nlines' } }), Buffer.from('{}'), logRecorder().log)) as Uint8Array).toString());
    expect(cloudEvent).toMatchObject({ statusCode: 200, headers: { 'x-seen': 'order.created' } });
  });

  it('fails to load when the server never listens', async () => {
    const runtime = createHttpRuntime({ port: await freePort(), readyTimeoutMs: 500 });
    await expect(runtime.load(load('echo not a server; exit 1'))).rejects.toMatchObject({ type: 'InitError', message: expect.stringContaining('not a server') });
  });
});

describe('custom runtime (Lambda Runtime API)', () => {
  it('hands invocations to the bootstrap and takes its responses and errors', async () => {
    const runtimeDir = join(codeDir, 'runtime');
    rmSync(runtimeDir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(runtimeDir);
    writeFileSync(
      join(runtimeDir, 'bootstrap'),
      `#!${process.execPath}
const api = 'http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/2018-06-01/runtime/invocation/';
(async () => {
  for (;;) {
    const next = await fetch(api + 'next');
    const id = next.headers.get('lambda-runtime-aws-request-id');
    const event = await next.json();
    console.log('handling ' + id + ' with ' + process.env._HANDLER);
    if (event.fail) {
      await fetch(api + id + '/error', { method: 'POST', body: JSON.stringify({ errorType: 'Boom', errorMessage: 'asked to fail' }) });
    } else {
      await fetch(api + id + '/response', { method: 'POST', body: JSON.stringify({ echo: event, fn: process.env.AWS_LAMBDA_FUNCTION_NAME }) });
    }
  }
})();
`,
    );
    chmodSync(join(runtimeDir, 'bootstrap'), 0o644); // started through its #! line
    const runtime = createCustomRuntime({ apiPort: await freePort() });
    started.push(runtime);
    await runtime.load(load('my.handler', { runtimeDir }));
    const { log, text } = logRecorder('c-1');
    const result = await runtime.invoke(call({ callId: 'c-1' }), Buffer.from('{"x":1}'), log);
    expect(JSON.parse(Buffer.from(result as Uint8Array).toString())).toEqual({ echo: { x: 1 }, fn: 'fn' });
    expect(text('stdout')).toContain('handling c-1 with my.handler');
    await expect(runtime.invoke(call({ callId: 'c-2' }), Buffer.from('{"fail":true}'), logRecorder('c-2').log)).rejects.toMatchObject({
      type: 'Boom',
      message: 'asked to fail',
    });
  });
});

describe('python3 agent', () => {
  const agentPath = fileURLToPath(new URL('./python_agent.py', import.meta.url));

  it('loads main.handler, passes event and context, captures prints and types exceptions', async () => {
    writeFileSync(
      join(codeDir, 'main.py'),
      `import os
def handler(event, context):
    if event.get("fail"):
        raise ValueError("no good")
    print("hello from", context.call_id)
    return {"echo": event, "fn": context.function_name, "version": context.function_version,
            "memory": context.memory_limit_in_mb, "left": context.get_remaining_time_in_millis() > 0,
            "env": os.environ.get("GREETING"), "cloud_event": context.cloud_event}
`,
    );
    const socketPath = join(codeDir, 'py.sock');
    const agent = spawn('/usr/bin/python3', [agentPath], { env: { FAAS_AGENT_SOCKET: socketPath }, stdio: 'inherit' });
    try {
      const client = await AgentClient.connectWhenReady(socketPath, 5_000, () => agent.exitCode === null);
      const logs: string[] = [];
      client.onUnsolicited((frame) => {
        if (frame.type === FrameType.LOG) logs.push(`${(frame.header as LogHeader).callId}:${frame.body.toString()}`);
      });
      const loaded = await client.request(FrameType.LOAD, 5_000, load('main.handler', { env: { GREETING: 'hi' } }));
      expect(loaded.type).toBe(FrameType.OK);
      const reply = await client.request(FrameType.INVOKE, 5_000, call({ callId: 'py-1' }), Buffer.from('{"a":1}'));
      expect(reply.type).toBe(FrameType.RESULT);
      expect(JSON.parse(reply.body.toString())).toEqual({ echo: { a: 1 }, fn: 'fn', version: '2', memory: 128, left: true, env: 'hi', cloud_event: null });
      const cloudEvent = { specversion: '1.0', id: 'e-1', source: '/shop', type: 'order.created' };
      const asEvent = await client.request(FrameType.INVOKE, 5_000, call({ callId: 'py-ce', cloudEvent }), Buffer.from('{"a":2}'));
      expect(JSON.parse(asEvent.body.toString())).toMatchObject({ echo: { a: 2 }, cloud_event: cloudEvent });
      expect(logs).toContain('py-1:hello from py-1\n');
      const failed = await client.request(FrameType.INVOKE, 5_000, call({ callId: 'py-2' }), Buffer.from('{"fail":true}'));
      expect(failed.type).toBe(FrameType.FUNCTION_ERROR);
      expect(failed.header).toMatchObject({ type: 'ValueError', message: 'no good' });
      client.close();
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('answers HTTP calls with the status, headers and body the handler shaped', async () => {
    writeFileSync(
      join(codeDir, 'web.py'),
      `def handler(event, context):
    if event["path"] == "/plain":
        return [1, 2]
    return {"statusCode": 201, "headers": {"X-Path": event["path"], "x-n": 5}, "cookies": ["a=1"], "body": "made " + event["body"]}
`,
    );
    const socketPath = join(codeDir, 'py3.sock');
    const agent = spawn('/usr/bin/python3', [agentPath], { env: { FAAS_AGENT_SOCKET: socketPath }, stdio: 'inherit' });
    try {
      const client = await AgentClient.connectWhenReady(socketPath, 5_000, () => agent.exitCode === null);
      expect((await client.request(FrameType.LOAD, 5_000, load('web.handler'))).type).toBe(FrameType.OK);
      const http = (path: string) => call({ kind: 'http', http: { method: 'POST', path, rawQuery: '', headers: {} } });
      const shaped = await client.request(FrameType.INVOKE, 5_000, http('/thing'), Buffer.from('it'));
      expect(shaped.type).toBe(FrameType.RESULT);
      expect(shaped.header).toEqual({ status: 201, headers: { 'X-Path': '/thing', 'x-n': '5', 'set-cookie': ['a=1'], 'content-type': 'text/plain; charset=utf-8' } });
      expect(shaped.body.toString()).toBe('made it');
      const plain = await client.request(FrameType.INVOKE, 5_000, http('/plain'), Buffer.alloc(0));
      expect(plain.header).toEqual({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' } });
      expect(plain.body.toString()).toBe('[1,2]');
      client.close();
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('answers HandlerNotFound for a missing module', async () => {
    const socketPath = join(codeDir, 'py2.sock');
    const agent = spawn('/usr/bin/python3', [agentPath], { env: { FAAS_AGENT_SOCKET: socketPath }, stdio: 'inherit' });
    try {
      const client = await AgentClient.connectWhenReady(socketPath, 5_000, () => agent.exitCode === null);
      const loaded = await client.request(FrameType.LOAD, 5_000, load('nothere.handler'));
      expect(loaded.type).toBe(FrameType.ERROR);
      expect(loaded.header).toMatchObject({ type: 'HandlerNotFound' });
      client.close();
    } finally {
      agent.kill('SIGKILL');
    }
  });
});
