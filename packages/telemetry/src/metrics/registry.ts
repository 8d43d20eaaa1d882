/**
 * A small Prometheus registry whose series are plain numbers updated in
 * place. prom-client and OpenTelemetry's metrics SDK both hash a label set on
 * every increment (1.5–3 µs per call here, bench/micro/metric-cost.mjs); a
 * series here is found once through nested maps keyed by label values, so
 * counting a call costs a few map lookups and an addition, no allocation.
 * Values that are states rather than events (pool sizes, queue depths) are
 * read at scrape time by collectors instead of being kept up to date.
 */

export type LabelValues = readonly [string?, string?, string?, string?];

/** Whether metrics are kept at all (FAAS_METRICS=off turns every series into a no-op, for benchmarks). */
export const metricsEnabled = !/^(off|false|0|no)$/i.test(process.env.FAAS_METRICS ?? '');

export interface CounterSeries {
  inc(by?: number): void;
}

export interface GaugeSeries {
  set(value: number): void;
  inc(by?: number): void;
}

export interface HistogramSeries {
  observe(value: number): void;
}

class CounterValue implements CounterSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

class GaugeValue implements GaugeSeries {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
}

class HistogramValue implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

const NOOP = { inc() {}, set() {}, observe() {} };

type Kind = 'counter' | 'gauge' | 'histogram';

/** One metric name and its series, one per combination of label values. */
export class MetricFamily<S> {
  private readonly root = new Map<string, unknown>();
  private readonly all: { labels: string[]; value: S }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: Kind,
    readonly labelNames: readonly string[],
    private readonly make: () => S,
  ) {
    if (labelNames.length > 4) throw new Error(`${name}: at most four labels`);
  }

  /** The series for these label values (in labelNames' order), made on first use; no allocation once made. */
  get(a = '', b = '', c = '', d = ''): S {
    if (!metricsEnabled) return NOOP as S;
    switch (this.labelNames.length) {
      case 0:
        return this.leaf(this.root, '', a, b, c, d);
      case 1:
        return this.leaf(this.root, a, a, b, c, d);
      case 2:
        return this.leaf(branch(this.root, a), b, a, b, c, d);
      case 3:
        return this.leaf(branch(branch(this.root, a), b), c, a, b, c, d);
      default:
        return this.leaf(branch(branch(branch(this.root, a), b), c), d, a, b, c, d);
    }
  }

  private leaf(node: Map<string, unknown>, key: string, a: string, b: string, c: string, d: string): S {
    return (node.get(key) as S | undefined) ?? this.add([a, b, c, d].slice(0, this.labelNames.length), node, key);
  }

  /** Drops every series (collectors that rebuild a state from scratch at each scrape). */
  reset(): void {
    this.root.clear();
    this.all.length = 0;
  }

  private add(labels: string[], node: Map<string, unknown>, key: string): S {
    const value = this.make();
    node.set(key, value);
    this.all.push({ labels, value });
    return value;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} ${this.kind}`);
    for (const { labels, value } of this.all) {
      const pairs = labels.map((label, i) => `${this.labelNames[i]}="${escapeLabel(label)}"`);
      if (value instanceof HistogramValue) {
        const bounds = (value as unknown as { bounds: readonly number[] }).bounds;
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += value.counts[i]!;
          lines.push(`${this.name}_bucket{${[...pairs, `le="${bounds[i]}"`].join(',')}} ${cumulative}`);
        }
        lines.push(`${this.name}_bucket{${[...pairs, 'le="+Inf"'].join(',')}} ${value.count}`);
        lines.push(`${this.name}_sum${braces(pairs)} ${value.sum}`, `${this.name}_count${braces(pairs)} ${value.count}`);
      } else {
        lines.push(`${this.name}${braces(pairs)} ${(value as CounterValue | GaugeValue).value}`);
      }
    }
  }
}

function branch(node: Map<string, unknown>, key: string): Map<string, unknown> {
  let next = node.get(key) as Map<string, unknown> | undefined;
  if (!next) node.set(key, (next = new Map()));
  return next;
}

function braces(pairs: string[]): string {
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Latency buckets from 0.5 ms to 60 s: warm calls sit in the first few, cold starts and slow handlers above. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class MetricRegistry {
  private readonly families: MetricFamily<unknown>[] = [];
  private readonly collectors: (() => void | Promise<void>)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): MetricFamily<CounterSeries> {
    return this.add(new MetricFamily<CounterSeries>(name, help, 'counter', labelNames, () => new CounterValue()));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): MetricFamily<GaugeSeries> {
    return this.add(new MetricFamily<GaugeSeries>(name, help, 'gauge', labelNames, () => new GaugeValue()));
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DURATION_BUCKETS): MetricFamily<HistogramSeries> {
    return this.add(new MetricFamily<HistogramSeries>(name, help, 'histogram', labelNames, () => new HistogramValue(buckets)));
  }

  /** Runs before each scrape: sets gauges from the state they describe. A collector that fails leaves its gauges as they were. */
  collect(collector: () => void | Promise<void>): void {
    this.collectors.push(collector);
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  async render(): Promise<string> {
    await Promise.all(this.collectors.map(async (collector) => {
      try {
        await collector();
      } catch {
        // A state that cannot be read right now: the last reading stays.
      }
    }));
    const lines: string[] = [];
    for (const family of this.families) family.render(lines);
    return `${lines.join('\n')}\n`;
  }

  private add<S>(family: MetricFamily<S>): MetricFamily<S> {
    if (this.families.some((known) => known.name === family.name)) throw new Error(`metric ${family.name} registered twice`);
    this.families.push(family as MetricFamily<unknown>);
    return family;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The process's registry: each service defines its families on it and serves it (serveMetrics, or httptrigger's /metrics). */
export const metrics = new MetricRegistry();
