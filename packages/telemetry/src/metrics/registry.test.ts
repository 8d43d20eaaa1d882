import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MetricRegistry } from './registry.js';

describe('MetricRegistry', () => {
  it('keeps one series per label combination and renders the text format', async () => {
    const registry = new MetricRegistry();
    const calls = registry.counter('calls_total', 'calls', ['function', 'outcome']);
    calls.get('echo', 'ok').inc();
    calls.get('echo', 'ok').inc(2);
    calls.get('echo', 'error').inc();
    expect(calls.get('echo', 'ok')).toBe(calls.get('echo', 'ok'));
    const text = await registry.render();
    expect(text).toContain('# TYPE calls_total counter\n');
    expect(text).toContain('calls_total{function="echo",outcome="ok"} 3\n');
    expect(text).toContain('calls_total{function="echo",outcome="error"} 1\n');
  });

  it('renders cumulative histogram buckets, sum and count', async () => {
    const registry = new MetricRegistry();
    const seconds = registry.histogram('took_seconds', 'took', ['function'], [0.1, 1]);
    for (const value of [0.05, 0.5, 0.5, 5]) seconds.get('f').observe(value);
    const text = await registry.render();
    expect(text).toContain('took_seconds_bucket{function="f",le="0.1"} 1\n');
    expect(text).toContain('took_seconds_bucket{function="f",le="1"} 3\n');
    expect(text).toContain('took_seconds_bucket{function="f",le="+Inf"} 4\n');
    expect(text).toContain('took_seconds_sum{function="f"} 6.05\n');
    expect(text).toContain('took_seconds_count{function="f"} 4\n');
  });

  it('escapes label values and runs collectors before rendering', async () => {
    const registry = new MetricRegistry();
    const depth = registry.gauge('depth', 'depth', ['name']);
    let reading = 0;
    registry.collect(() => {
      depth.reset();
      depth.get('a "quoted"\nname\\').set(++reading);
    });
    registry.collect(() => {
      throw new Error('cannot read now');
    });
    await registry.render();
    expect(await registry.render()).toContain('depth{name="a \\"quoted\\"\\nname\\\\"} 2\n');
  });

  it('refuses a name registered twice', () => {
    const registry = new MetricRegistry();
    registry.counter('twice_total', 'x');
    expect(() => registry.gauge('twice_total', 'x')).toThrow('registered twice');
  });
});

describe('FAAS_METRICS=false', () => {
  it('turns every series into a no-op (what bench:invoke compares against)', () => {
    const registry = fileURLToPath(new URL('../../dist/metrics/registry.js', import.meta.url));
    const script = `const { MetricRegistry } = await import(${JSON.stringify(registry)});
      const r = new MetricRegistry();
      r.counter('calls_total', 'calls', ['f']).get('a').inc();
      r.histogram('took_seconds', 'took').get().observe(1);
      process.stdout.write(await r.render());`;
    const run = (value: string) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, FAAS_METRICS: value }, encoding: 'utf8' });
    expect(run('false')).not.toMatch(/^calls_total/m);
    expect(run('false')).not.toMatch(/^took_seconds/m);
    expect(run('true')).toContain('calls_total{f="a"} 1');
  });
});
