#!/usr/bin/env node
// What counting one invocation costs: our registry (series found by label
// values through nested maps, updated in place),: a counter increment and a histogram
// observation with three labels, through prom-client (children looked up once
// and kept) and through OpenTelemetry's metrics SDK (attributes per call, as
// its API requires), read by a Prometheus exporter that is never scraped.
//   node bench/micro/metric-cost.mjs [--calls 1000000]
import { parseArgs } from 'node:util';
import client from 'prom-client';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MetricRegistry } from '@faas/telemetry';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '1000000' } } });
const calls = Number(values.calls);
const functions = ['echo', 'noop', 'resize', 'thumbs'];

function time(label, body) {
  for (let i = 0; i < calls / 10; i++) body(i); // warm the JIT
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) body(i);
  const ns = Number(process.hrtime.bigint() - started) / calls;
  console.log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/call`);
  return ns;
}

const ours = new MetricRegistry();
const ourCounter = ours.counter('c_total', 'c', ['function', 'kind', 'outcome']);
const ourHistogram = ours.histogram('h_seconds', 'h', ['function', 'kind', 'outcome']);
const own = time('@faas/telemetry registry, found per call', (i) => {
  const name = functions[i & 3];
  ourCounter.get(name, 'event', 'ok').inc();
  ourHistogram.get(name, 'event', 'ok').observe(0.0002);
});

// What the edge does for every answer (invocation-timing.ts): two counters,
// two histograms, the history ring.
const { InvocationHistory } = await import('../../services/httptrigger/dist/invocation-history.js');
const history = new InvocationHistory(100);
const gatewayCounter = ours.counter('g_total', 'g', ['function_name', 'code']);
const gatewayHistogram = ours.histogram('g_seconds', 'g', ['function_name', 'code']);
time('edge: everything counted per answer', (i) => {
  const name = functions[i & 3];
  const code = String(200 + (i & 1));
  ourCounter.get(name, 'event', 'ok').inc();
  ourHistogram.get(name, 'event', 'ok').observe(0.0002);
  gatewayCounter.get(name, code).inc();
  gatewayHistogram.get(name, code).observe(0.0002);
  history.record(name, 'call-id', Date.now(), 0.2, 'event', 'ok', 200, false, 'sandbox-1');
});

const registry = new client.Registry();
const promCounter = new client.Counter({ name: 'c_total', help: 'c', labelNames: ['function', 'kind', 'outcome'], registers: [registry] });
const promHistogram = new client.Histogram({ name: 'h_seconds', help: 'h', labelNames: ['function', 'kind', 'outcome'], registers: [registry] });
const children = functions.map((name) => ({ counter: promCounter.labels(name, 'event', 'ok'), histogram: promHistogram.labels(name, 'event', 'ok') }));
const cached = time('prom-client, children kept', (i) => {
  const child = children[i & 3];
  child.counter.inc();
  child.histogram.observe(0.0002);
});
const labelled = time('prom-client, labels object per call', (i) => {
  const labels = { function: functions[i & 3], kind: 'event', outcome: 'ok' };
  promCounter.inc(labels);
  promHistogram.observe(labels, 0.0002);
});

const exporter = new PrometheusExporter({ preventServerStart: true });
const meter = new MeterProvider({ readers: [exporter] }).getMeter('bench');
const otelCounter = meter.createCounter('c_total');
const otelHistogram = meter.createHistogram('h_seconds');
const attributes = functions.map((name) => ({ function: name, kind: 'event', outcome: 'ok' }));
const otel = time('OpenTelemetry SDK, attributes kept', (i) => {
  otelCounter.add(1, attributes[i & 3]);
  otelHistogram.record(0.0002, attributes[i & 3]);
});
console.log(`prom-client (children kept) / ours: ${(cached / own).toFixed(1)}x; OpenTelemetry / ours: ${(otel / own).toFixed(1)}x`);
console.log(`OpenTelemetry / prom-client (children kept): ${(otel / cached).toFixed(1)}x; labels per call: ${(labelled / cached).toFixed(1)}x`);
