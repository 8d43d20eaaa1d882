// compose.yaml and the Dockerfile, read without running them: Docker Compose
// must parse the file, and it must describe the same platform `npm run up`
// starts. test/compose runs it for real where a Docker engine can run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SERVICE_NAMES } from '@faas/launcher';

const composeFile = path.join(REPO_ROOT, 'compose.yaml');
// The defaults, whatever the environment running the tests sets.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(NODE|NATS|REDIS)_IMAGE$|^FAAS_/.test(name)));
const config = (...args: string[]) => execFileSync('docker-compose', ['-f', composeFile, 'config', ...args], { encoding: 'utf8', env });
const resolved = config();
const section = (name: string) => resolved.slice(resolved.indexOf(`\n  ${name}:\n`) + 1).split(/\n {2}(?=\S)/)[0]!;

/** Services behind `--profile prometheus`. */
const OPTIONAL_SERVICES = ['prometheus', 'grafana'];

describe('compose.yaml', () => {
  it('is valid for docker-compose', () => {
    expect(() => config('-q')).not.toThrow();
  });

  it('runs NATS with JetStream and its monitoring port, Redis, and the five services', () => {
    expect(config('--services').trim().split('\n').sort()).toEqual(['nats', 'redis', ...SERVICE_NAMES, ...OPTIONAL_SERVICES].sort());
    // The health check asks the monitoring port, which only -m turns on once a command line replaces the image's configuration.
    expect(section('nats')).toMatch(/command:\n {4}- -js\n {4}- -sd\n {4}- \/data\n {4}- -m\n {4}- '8222'\n/);
    expect(section('nats')).toContain('http://127.0.0.1:8222/healthz');
  });

  it('starts Prometheus and Grafana only with the prometheus profile, with the shipped scrape config and dashboard', () => {
    for (const name of OPTIONAL_SERVICES) expect(section(name), name).toMatch(/profiles:\n {4}- prometheus\n/);
    expect(section('prometheus')).toContain('observability/prometheus.yml');
    expect(section('grafana')).toContain('observability/grafana/dashboards');
  });

  it('takes its images from variables whose defaults are the public images', () => {
    expect(section('nats')).toContain('image: nats:2.10-alpine');
    expect(section('redis')).toContain('image: redis:7-alpine');
    for (const name of SERVICE_NAMES) expect(section(name), name).toContain('NODE_IMAGE: node:20-bookworm-slim');
  });

  it('gives the funclet the capabilities runc needs, not privileged mode', () => {
    const funclet = section('funclet');
    expect(funclet).not.toContain('privileged');
    expect(funclet).toMatch(/cap_drop:\n {4}- ALL\n/);
    expect(funclet).toContain('- SYS_ADMIN');
    expect(funclet).not.toContain('SYS_RESOURCE');
    expect(funclet).toContain('- seccomp=unconfined');
    expect(funclet).toContain('/sys/fs/cgroup:/sys/fs/cgroup:rw');
  });

  it('publishes the HTTP edge and the controller on loopback only', () => {
    expect(section('httptrigger')).toContain('127.0.0.1:8080:8080/tcp');
    expect(section('controller')).toContain('127.0.0.1:50051:50051/tcp');
  });

  it('builds every service from the one Dockerfile, its target named after it, starting its compiled entry point', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('CMD ["node", "--import", "@faas/telemetry/register", "dist/main.js"]');
    // The funclet's image also has what its sandboxes need.
    expect(dockerfile).toMatch(/AS funclet\n[^]*install[^]*\brunc\b/);
    for (const name of SERVICE_NAMES) {
      expect(dockerfile, name).toMatch(new RegExp(`^FROM \\S+ AS ${name}\\n(?:.*\\n)*?WORKDIR /app/services/${name}$`, 'm'));
      expect(section(name), name).toMatch(new RegExp(`\\n    build:\\n(?: {6}.*\\n)*? {6}target: ${name}\\n`));
      expect(section(name), name).not.toContain('dockerfile:');
      expect(existsSync(path.join(REPO_ROOT, 'services', name, 'src', 'main.ts'))).toBe(true);
      expect(existsSync(path.join(REPO_ROOT, 'services', name, 'Dockerfile')), `a second Dockerfile for ${name}`).toBe(false);
    }
  });
});
