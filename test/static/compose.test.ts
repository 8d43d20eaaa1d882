// No Docker engine runs here, so compose.yaml and the Dockerfiles are checked
// statically: Docker Compose must parse the file, and it must describe the
// same platform `npm run up` starts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SERVICE_NAMES } from '@faas/launcher';

const composeFile = path.join(REPO_ROOT, 'compose.yaml');

describe('compose.yaml', () => {
  it('is valid for docker-compose', () => {
    expect(() => execFileSync('docker-compose', ['-f', composeFile, 'config', '-q'], { stdio: 'pipe' })).not.toThrow();
  });

  it('runs NATS with JetStream, Redis and the five services, funclet privileged', () => {
    const services = execFileSync('docker-compose', ['-f', composeFile, 'config', '--services'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(services).toEqual(['nats', 'redis', ...SERVICE_NAMES].sort());

    const resolved = execFileSync('docker-compose', ['-f', composeFile, 'config'], { encoding: 'utf8' });
    const funclet = resolved.slice(resolved.indexOf('\n  funclet:'), resolved.indexOf('\n  httptrigger:'));
    expect(funclet).toContain('privileged: true');
    expect(resolved).toMatch(/- -js/);
  });

  it('builds every service from its own Dockerfile that starts its compiled entry point', () => {
    for (const name of SERVICE_NAMES) {
      const dockerfile = path.join(REPO_ROOT, 'services', name, 'Dockerfile');
      expect(existsSync(dockerfile), dockerfile).toBe(true);
      const text = readFileSync(dockerfile, 'utf8');
      expect(text).toContain(`--filter=@faas/${name}...`);
      expect(text).toContain('"dist/main.js"');
      expect(existsSync(path.join(REPO_ROOT, 'services', name, 'src', 'main.ts'))).toBe(true);
    }
  });
});
