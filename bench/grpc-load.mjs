#!/usr/bin/env node
// A small gRPC load generator of ours for Controller.Invoke, run in its own
// process as wrk is for HTTP: `connections` calls in flight for `seconds`,
// then one JSON line with the count, the rate, latency percentiles and the
// failures.
//
//   node bench/grpc-load.mjs --address 127.0.0.1:50051 --function noop --connections 32 --seconds 5
import { parseArgs } from 'node:util';
import { Controller, InvocationKind, createClient } from '@faas/protocol';
import { percentile } from './support.mjs';

const { values } = parseArgs({
  options: {
    address: { type: 'string' },
    function: { type: 'string' },
    connections: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    payload: { type: 'string', default: '{"n":1}' },
  },
});
if (!values.address || !values.function) {
  console.error('usage: node bench/grpc-load.mjs --address host:port --function name [--connections N] [--seconds S]');
  process.exit(2);
}

const client = createClient(Controller, values.address, { peerName: 'controller' });
const payload = Buffer.from(values.payload);
const invocation = { functionName: values.function, kind: InvocationKind.EVENT, payload, contentType: 'application/json' };
const endsAt = performance.now() + Number(values.seconds) * 1000;
const latencies = [];
let errors = 0;
let functionErrors = 0;
let firstError;

async function loop() {
  while (performance.now() < endsAt) {
    const started = performance.now();
    try {
      const { result } = await client.invoke({ invocation }, { timeoutMs: 30_000 });
      if (result?.functionError) {
        functionErrors++;
        firstError ??= result.functionError.message;
      }
    } catch (error) {
      errors++;
      firstError ??= error.message;
    }
    latencies.push(performance.now() - started);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: Number(values.connections) }, loop));
const elapsedS = (performance.now() - started) / 1000;
client.close();
latencies.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    requests: latencies.length,
    rps: latencies.length / elapsedS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    functionErrors,
    firstError,
  }),
);
