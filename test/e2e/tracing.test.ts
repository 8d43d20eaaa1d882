// One trace follows an invocation across every service, including the hop
// through NATS JetStream, which has no instrumentation of its own.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http as request } from '../support/http.js';

interface ReceivedSpan {
  service: string;
  traceId: string;
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
            for (const span of scope.spans ?? []) received.push({ service, traceId: span.traceId, name: span.name });
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
  const upload = await request(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': 'exports.handler = async (e) => e;' }) });
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

it('joins httptrigger, controller and funclet in one trace for a sync call', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const answer = await request(`${platform.httpUrl}/v1/functions/traced/invocations`, {
    method: 'POST',
    json: { traced: true },
    headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  });
  expect(answer.status, answer.text).toBe(200);
  await eventually(async () => {
    const services = servicesInTrace(traceId);
    return ['httptrigger', 'controller', 'funclet'].every((s) => services.has(s)) ? services : undefined;
  }, 15_000, 'spans from httptrigger, controller and funclet');
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
    return ['httptrigger', 'queue-worker', 'controller', 'funclet'].every((s) => services.has(s)) ? services : undefined;
  }, 20_000, 'spans from httptrigger, queue-worker, controller and funclet');
});
