#!/usr/bin/env node
// The Funclet.Calls stream alone, between two Node processes: a FuncletLink
// (our client) against a server that answers every call at once. CPU per call
// on each side at 1 and at 32 calls in flight: what the stream costs, without
// sandboxes.
//   node bench/micro/stream-echo.mjs [--calls 20000]
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { FuncletLink } from '@faas/client';
import {
  CallOutcomeSchema, Coalescer, Funclet, FuncletCallsResponseSchema, InvocationKind, InvocationResultSchema, InvocationSchema,
  addService, create, createClient, grpc, listen,
} from '@faas/protocol';
import { cpuMicros } from '../proc-stat.mjs';
import { split } from './.split.mjs';

if (process.argv[2] === 'server') {
  const server = new grpc.Server();
  const result = create(InvocationResultSchema, { result: Buffer.from('{"ok":true}') });
  const unimplemented = async () => { throw new Error('not here'); };
  addService(server, Funclet, {
    createSandbox: unimplemented, invoke: unimplemented, destroySandbox: unimplemented, listSandboxes: unimplemented, prefetchCode: unimplemented,
    calls(stream) {
      const out = new Coalescer(() => create(FuncletCallsResponseSchema), (b) => stream.write(b), (r) => stream.once('drain', r));
      stream.on('data', (batch) => {
        for (const call of batch.calls) {
          const answer = create(CallOutcomeSchema, { id: call.id, result });
          out.add((b) => b.outcomes.push(answer));
        }
      });
      stream.on('end', () => stream.end());
    },
  });
  const address = await listen(server, '127.0.0.1:0');
  process.send(address);
} else {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' } } });
  const calls = Number(values.calls);
  const child = fork(new URL(import.meta.url).pathname, ['server']);
  const address = await new Promise((resolve) => child.once('message', resolve));
  const link = new FuncletLink(address, createClient(Funclet, address));
  const invocation = create(InvocationSchema, { functionName: 'noop', callId: 'c-1', kind: InvocationKind.HTTP, payload: Buffer.from('{"n":1}'), http: { method: 'GET', path: '/', headers: { host: 'x', 'user-agent': 'wrk' } } });
  const one = () => link.call({ sandboxId: 'sb-1', invocation, timeoutMs: 30_000 }, { deadlineMs: Date.now() + 30_000 });
  for (let i = 0; i < 2000; i++) await one();
  for (const inFlight of (process.env.INFLIGHT ?? "1,32").split(",").map(Number)) {
    const c0 = cpuMicros(child.pid), m0 = cpuMicros(process.pid), t0 = performance.now(); const sp0 = split(process.pid);
    let next = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => { while (next++ < calls) await one(); }));
    const ms = performance.now() - t0; const sp1 = split(process.pid); console.log(`client user ${((sp1.u-sp0.u)/calls).toFixed(1)} sys ${((sp1.s-sp0.s)/calls).toFixed(1)}`);
    console.log(`${String(inFlight).padStart(2)} in flight: ${(calls / ms * 1000).toFixed(0).padStart(6)} calls/s  client ${((cpuMicros(process.pid) - m0) / calls).toFixed(1).padStart(5)} µs/call  server ${((cpuMicros(child.pid) - c0) / calls).toFixed(1).padStart(5)} µs/call`);
  }
  link.close();
  child.kill();
  process.exit(0);
}
