// One trace follows an invocation across every service, including the hop
// through NATS JetStream, which has no instrumentation of its own, down to
// the sandbox's agent and the spans the handler opens (reported by the agent,
// recorded by the funclet). The receiver is a real OTLP/HTTP endpoint.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http as request } from '../support/http.js';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

const received: ReceivedSpan[] = [];
let collector: http.Server;
let platform: Platform;

/** A minimal OTLP/HTTP JSON trace receiver. */
function startCollector(): Promise<number> {
  collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name')?.value?.stringValue;
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) received.push({ service, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', name: span.name });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => collector.listen(0, '127.0.0.1', () => resolve((collector.address() as AddressInfo).port)));
}

beforeAll(async () => {
  const port = await startCollector();
  platform = await startPlatform({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
  // The handler opens a span and a child of it, and answers the contexts it saw.
  const source = `exports.handler = async (event, context) => {
    const span = context.startSpan('handler work', { 'work.kind': 'test' });
    span.startSpan('handler inner step').end();
    span.end();
    return { got: event, traceparent: context.traceparent, spanTraceparent: span.traceparent };
  };`;
  const upload = await request(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': source }) });
  await request(`${platform.httpUrl}/v1/functions/traced`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest } },
  });
});

afterAll(async () => {
  await platform?.stop();
  collector?.close();
});

const servicesInTrace = (traceId: string) => new Set(received.filter((span) => span.traceId === traceId).map((span) => span.service));

/** Every span of the trace hangs from another of its spans, or from the caller's: one tree, nothing detached. */
function detached(traceId: string, callerSpan: string): ReceivedSpan[] {
  const spans = received.filter((span) => span.traceId === traceId);
  const ids = new Set([callerSpan, ...spans.map((span) => span.spanId)]);
  return spans.filter((span) => !ids.has(span.parentSpanId));
}

/** Spans come in batches from each process: a parent may arrive after its child, so this waits a little for it. */
async function expectConnected(traceId: string, callerSpan: string) {
  await eventually(async () => (detached(traceId, callerSpan).length === 0 ? true : undefined), 5_000, 'every span\'s parent').catch(() => undefined);
  expect(detached(traceId, callerSpan).map((span) => `${span.service} "${span.name}"`)).toEqual([]);
}

const spansNamed = (traceId: string, name: string) => received.filter((span) => span.traceId === traceId && span.name === name);
const one = (traceId: string, name: string) => {
  const spans = spansNamed(traceId, name);
  expect(spans, `one "${name}" span in the trace`).toHaveLength(1);
  return spans[0]!;
};

it('joins httptrigger, controller, funclet, agent and handler in one trace for a sync call', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  const answer = await request(`${platform.httpUrl}/v1/functions/traced/invocations`, {
    method: 'POST',
    json: { traced: true },
    headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
  });
  expect(answer.status, answer.text).toBe(200);
  await eventually(async () => {
    const services = servicesInTrace(traceId);
    const names = new Set(received.filter((span) => span.traceId === traceId).map((span) => span.name));
    const expected = ['POST /v1/functions/:name/invocations', 'controller place', 'funclet call', 'agent invoke', 'handler work', 'handler inner step'];
    return ['httptrigger', 'controller', 'funclet'].every((s) => services.has(s)) && expected.every((name) => names.has(name)) ? services : undefined;
  }, 15_000, 'spans from httptrigger, controller, funclet, the agent and the handler');

  // The chain: caller → edge → the controller's placement (which runs a first call itself) → funclet → agent → handler → its child.
  const edge = one(traceId, 'POST /v1/functions/:name/invocations');
  expect(edge).toMatchObject({ service: 'httptrigger', parentSpanId: callerSpan });
  const place = one(traceId, 'controller place');
  expect(place).toMatchObject({ service: 'controller', parentSpanId: edge.spanId });
  const funclet = one(traceId, 'funclet call');
  expect([edge.spanId, place.spanId]).toContain(funclet.parentSpanId);
  await expectConnected(traceId, callerSpan);
  const agent = one(traceId, 'agent invoke');
  expect(agent).toMatchObject({ service: 'funclet', parentSpanId: funclet.spanId });
  const work = one(traceId, 'handler work');
  expect(work.parentSpanId).toBe(agent.spanId);
  expect(one(traceId, 'handler inner step').parentSpanId).toBe(work.spanId);
  // What the handler saw names those spans, so work it hands on joins the trace.
  expect(answer.json.traceparent).toBe(`00-${traceId}-${agent.spanId}-01`);
  expect(answer.json.spanTraceparent).toBe(`00-${traceId}-${work.spanId}-01`);
});

it('carries the trace through NATS to the queue-worker for an async call', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const accepted = await request(`${platform.httpUrl}/async-function/traced`, {
    method: 'POST',
    body: '{}',
    headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
  });
  expect(accepted.status, accepted.text).toBe(202);
  await eventually(async () => {
    const services = servicesInTrace(traceId);
    const expected = ['POST /async-function/:name', 'funclet call', 'agent invoke', 'handler work'];
    return ['httptrigger', 'queue-worker', 'funclet'].every((s) => services.has(s)) && expected.every((name) => spansNamed(traceId, name).length > 0) ? services : undefined;
  }, 20_000, 'spans from httptrigger, queue-worker, funclet and the handler');
  // Every span the call made is in the caller's trace, through the NATS hop: none went astray.
  const processing = received.find((span) => span.traceId === traceId && span.service === 'queue-worker')!;
  expect(processing.parentSpanId).toBe(one(traceId, 'POST /async-function/:name').spanId);
  expect(one(traceId, 'agent invoke').parentSpanId).toBe(one(traceId, 'funclet call').spanId);
  await expectConnected(traceId, 'b7ad6b7169203331');
});
