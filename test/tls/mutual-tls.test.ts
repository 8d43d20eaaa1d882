// Mutual TLS between the services: a platform started with mutualTls makes
// its CA and certificate once in the work folder, every service dials and
// serves with them (a function deploys and runs, sync and queued), and a
// gRPC server refuses a caller without a certificate or with one from
// another CA.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureServiceCertificates, startPlatform, type Platform, type ServiceCertificates } from '@faas/launcher';
import { Health, HealthCheckResponse_ServingStatus, configureTransportSecurity, createClient } from '@faas/protocol';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

let platform: Platform;
let foreignDir: string;
let foreign: ServiceCertificates;

const HANDLER = 'exports.handler = async (event) => ({ got: event });\n';

/** Asks stubs' health service, dialling with whatever this process's transport security is now. */
async function checkStubs(): Promise<HealthCheckResponse_ServingStatus> {
  const health = createClient(Health, platform.addresses.stubs, { peerName: 'stubs', defaultTimeoutMs: 5_000 });
  try {
    return (await health.check({})).status;
  } finally {
    health.close();
  }
}

const filesOf = (certificates: ServiceCertificates) => ({
  FAAS_TLS_CA_FILE: certificates.caFile,
  FAAS_TLS_CERT_FILE: certificates.certFile,
  FAAS_TLS_KEY_FILE: certificates.keyFile,
  FAAS_TLS_SERVER_NAME: certificates.env.FAAS_TLS_SERVER_NAME,
});

beforeAll(async () => {
  platform = await startPlatform({ mutualTls: true, env: { FUNCLET_POOL_SIZE: '1' } });
  foreignDir = mkdtempSync(path.join(os.tmpdir(), 'faas-foreign-ca-'));
  foreign = ensureServiceCertificates(foreignDir);
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': HANDLER }) });
  expect(upload.status, upload.text).toBeLessThan(300);
  const put = await http(`${platform.httpUrl}/v1/functions/echo`, { method: 'PUT', json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128 } });
  expect(put.status, put.text).toBeLessThan(300);
});

afterAll(async () => {
  configureTransportSecurity({ FAAS_TLS_CA_FILE: '', FAAS_TLS_CERT_FILE: '', FAAS_TLS_KEY_FILE: '' });
  await platform?.stop();
  if (foreignDir) rmSync(foreignDir, { recursive: true, force: true });
});

describe('mutual TLS between the services', () => {
  it('keeps the CA and the services\' certificate in the work folder, keys readable by their owner only', () => {
    const certificates = platform.certificates!;
    expect(path.dirname(certificates.caFile)).toBe(path.join(platform.workDir, 'tls'));
    expect(statSync(certificates.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(platform.workDir, 'tls', 'ca.key')).mode & 0o777).toBe(0o600);
    // A second start finds them and keeps them.
    const again = ensureServiceCertificates(path.dirname(certificates.caFile));
    expect(readFileSync(again.certFile, 'utf8')).toBe(readFileSync(certificates.certFile, 'utf8'));
  });

  it('runs a function end to end, synchronously and queued', async () => {
    const sync = await http(`${platform.httpUrl}/v1/functions/echo/invocations`, { method: 'POST', json: { n: 1 } });
    expect(sync.status, sync.text).toBe(200);
    expect(sync.json).toEqual({ got: { n: 1 } });

    const queued = await http(`${platform.httpUrl}/v1/functions/echo/invocations`, { method: 'POST', json: { n: 2 }, headers: { 'x-invocation-type': 'Event' } });
    expect(queued.status, queued.text).toBe(202);
    const callId = queued.headers.get('x-call-id')!;
    const call = await eventually(async () => {
      const answer = await http(`${platform.httpUrl}/v1/calls/${callId}`);
      return answer.json?.status === 'succeeded' || answer.json?.status === 'failed' ? answer.json : undefined;
    }, 30_000, `call ${callId}`);
    expect(call).toMatchObject({ status: 'succeeded', result: { got: { n: 2 } } });
  });

  it('answers a caller that shows a certificate from the platform\'s CA', async () => {
    configureTransportSecurity(filesOf(platform.certificates!));
    expect(await checkStubs()).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('checks the server\'s certificate against the address dialled when no server name is set, and refuses a name it does not carry', async () => {
    // stubs listens on 127.0.0.1, which the certificate names.
    configureTransportSecurity({ ...filesOf(platform.certificates!), FAAS_TLS_SERVER_NAME: '' });
    expect(await checkStubs()).toBe(HealthCheckResponse_ServingStatus.SERVING);
    configureTransportSecurity({ ...filesOf(platform.certificates!), FAAS_TLS_SERVER_NAME: 'somebody-else' });
    await expect(checkStubs()).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('refuses a caller without a certificate', async () => {
    configureTransportSecurity({ FAAS_TLS_CA_FILE: '', FAAS_TLS_CERT_FILE: '', FAAS_TLS_KEY_FILE: '' });
    await expect(checkStubs()).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('refuses a caller whose certificate another CA signed, though it trusts the server', async () => {
    configureTransportSecurity({ ...filesOf(foreign), FAAS_TLS_CA_FILE: platform.certificates!.caFile });
    await expect(checkStubs()).rejects.toMatchObject({ code: 'service_unavailable' });
  });
});
