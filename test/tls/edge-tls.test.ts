// HTTPS on the edge: httptrigger started alone with a self-signed
// certificate answers /healthz over TLS and serves no plain HTTP on that
// port; half a TLS configuration, or a file it cannot read, stops it at
// start with a message naming the variable.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, freePort, startService, type RunningService } from '@faas/launcher';

let dir: string;
let certFile: string;
let keyFile: string;
let edge: RunningService;
/** Where nothing listens: the edge starts without stubs, NATS and the rest, and /healthz still answers. */
let nowhere: string;

function makeSelfSignedCertificate(): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '2', '-subj', '/CN=edge-tls test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
}

function edgeEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    FAAS_AUTH: 'off',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    CONTROLLER_ADDRESS: nowhere,
    STUBS_ADDRESS: nowhere,
    QUEUE_WORKER_ADDRESS: nowhere,
    NATS_URL: `nats://${nowhere}`,
    ...extra,
  };
}

/** GET over HTTPS, trusting only the test's certificate. */
function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = request(url, { ca: readFileSync(certFile) }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    call.on('error', reject).end();
  });
}

/** Runs httptrigger until it exits on its own (a configuration it refuses). */
function startRefused(extra: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'services/httptrigger/dist/main.js')], { env: { ...process.env, ...edgeEnv(extra) }, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stderr: result.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'faas-edge-tls-'));
  certFile = path.join(dir, 'edge.pem');
  keyFile = path.join(dir, 'edge.key');
  makeSelfSignedCertificate();
  nowhere = `127.0.0.1:${await freePort()}`;
  edge = await startService('httptrigger', edgeEnv({ HTTP_TLS_CERT_FILE: certFile, HTTP_TLS_KEY_FILE: keyFile }));
});

afterAll(async () => {
  await edge?.process.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS on the edge', () => {
  it('answers /healthz over TLS with the configured certificate', async () => {
    const answer = await httpsGet(`https://${edge.address}/healthz`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok' });
  });

  it('serves no plain HTTP on that port', async () => {
    await expect(fetch(`http://${edge.address}/healthz`)).rejects.toThrow();
  });

  it('refuses to start with a certificate but no key, or a key but no certificate', () => {
    for (const half of [{ HTTP_TLS_CERT_FILE: certFile }, { HTTP_TLS_KEY_FILE: keyFile }]) {
      const refused = startRefused(half);
      expect(refused.status, refused.stderr).toBe(78);
      expect(refused.stderr).toContain('HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE go together');
    }
  });

  it('refuses to start when the certificate file cannot be read, naming it', () => {
    const missing = path.join(dir, 'no-such.pem');
    const refused = startRefused({ HTTP_TLS_CERT_FILE: missing, HTTP_TLS_KEY_FILE: keyFile });
    expect(refused.status, refused.stderr).toBe(78);
    expect(refused.stderr).toContain(`HTTP_TLS_CERT_FILE: cannot read ${missing}`);
  });
});
