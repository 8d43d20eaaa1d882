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

  it('builds every service from the one Dockerfile, named by its SERVICE argument, starting its compiled entry point', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('COPY --from=build /src/services/${SERVICE} ./services/${SERVICE}');
    expect(dockerfile).toContain('"dist/main.js"');
    // The funclet's image also has what its sandboxes need.
    expect(dockerfile).toMatch(/if \[ "\$SERVICE" = funclet \]; then[^]*install[^]*\brunc\b/);

    const resolved = execFileSync('docker-compose', ['-f', composeFile, 'config'], { encoding: 'utf8' });
    for (const name of SERVICE_NAMES) {
      const section = resolved.slice(resolved.indexOf(`\n  ${name}:\n`) + 1).split(/\n {2}(?=\S)/)[0]!;
      expect(section, name).toMatch(new RegExp(`\\n    build:\\n      args:\\n        SERVICE: ${name}\\n      context: `));
      expect(section, name).not.toContain('dockerfile:');
      expect(existsSync(path.join(REPO_ROOT, 'services', name, 'src', 'main.ts'))).toBe(true);
      expect(existsSync(path.join(REPO_ROOT, 'services', name, 'Dockerfile')), `a second Dockerfile for ${name}`).toBe(false);
    }
  });
});
