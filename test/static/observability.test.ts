// The shipped Grafana dashboard and Prometheus config, read without running
// them: every series the dashboard queries is one a service defines, and every
// service is scraped at its default metrics port.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SERVICE_NAMES } from '@faas/launcher';

const dashboard = JSON.parse(readFileSync(path.join(REPO_ROOT, 'observability/grafana/dashboards/faas.json'), 'utf8'));
const scrapeConfig = readFileSync(path.join(REPO_ROOT, 'observability/prometheus.yml'), 'utf8');

/** Every metric family the services register (metrics.counter|gauge|histogram('name', …)). */
function definedFamilies(): Set<string> {
  const names = new Set<string>();
  for (const service of SERVICE_NAMES) {
    const dir = path.join(REPO_ROOT, 'services', service, 'src');
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      for (const match of readFileSync(path.join(dir, file), 'utf8').matchAll(/metrics\.(?:counter|gauge|histogram)\('([a-z_]+)'/g)) names.add(match[1]!);
    }
  }
  return names;
}

describe('the Grafana dashboard', () => {
  it('queries only series the services define', () => {
    const families = definedFamilies();
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) for (const match of (target.expr as string).matchAll(/\b((?:faas|gateway)_[a-z_]+)\b/g)) queried.add(match[1]!.replace(/_(bucket|sum|count)$/, ''));
    }
    expect(queried.size).toBeGreaterThan(10);
    for (const name of queried) expect(families, `${name} is defined by a service`).toContain(name);
  });
});

describe('the Prometheus scrape config', () => {
  it('scrapes every service at its default metrics port', () => {
    for (const [service, target] of Object.entries({ httptrigger: 'httptrigger:8080', controller: 'controller:9101', funclet: 'funclet:9102', stubs: 'stubs:9103', 'queue-worker': 'queue-worker:9104' })) {
      expect(scrapeConfig, service).toContain(`job_name: ${service}\n    static_configs: [{ targets: ["${target}"] }]`);
    }
  });
});
