export { DURATION_BUCKETS, MetricFamily, MetricRegistry, PROMETHEUS_CONTENT_TYPE, metrics, metricsEnabled, type CounterSeries, type GaugeSeries, type HistogramSeries } from './registry.js';
export { serveMetrics } from './server.js';
