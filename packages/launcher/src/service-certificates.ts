/**
 * A private CA and the one certificate every service of a platform shows,
 * made with openssl in the work folder's tls/ once (keys mode 0600) and
 * kept: a restart finds them. The certificate serves both ends of mutual
 * TLS, and names loopback and the services, plus SERVICE_CERTIFICATE_NAME
 * that clients check instead of whatever address they dial (funclets listen
 * on addresses made at run time).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_NAMES } from './services.js';

export const SERVICE_CERTIFICATE_NAME = 'faas-engine';

export interface ServiceCertificates {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The variables that turn mutual TLS on in a service. */
  readonly env: Readonly<Record<string, string>>;
}

const DAYS = { ca: 3650, service: 825 };

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed${stderr ? `: ${stderr}` : ''}`, { cause: error });
  }
}

export function ensureServiceCertificates(dir: string): ServiceCertificates {
  const file = (name: string) => path.join(dir, name);
  const caKey = file('ca.key');
  const caFile = file('ca.pem');
  const keyFile = file('service.key');
  const certFile = file('service.pem');
  if (![caKey, caFile, keyFile, certFile].every((name) => existsSync(name))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', String(DAYS.ca), '-subj', '/CN=faas-engine services CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const request = file('service.csr');
    const extensions = file('service.ext');
    const names = [SERVICE_CERTIFICATE_NAME, 'localhost', ...SERVICE_NAMES].map((name) => `DNS:${name}`);
    writeFileSync(extensions, [
      `subjectAltName=${[...names, 'IP:127.0.0.1', 'IP:::1'].join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      // One certificate for both ends: servers show it, and so do their clients.
      'extendedKeyUsage=serverAuth,clientAuth',
      '',
    ].join('\n'));
    openssl(['req', ...ec, '-keyout', keyFile, '-out', request, '-subj', `/CN=${SERVICE_CERTIFICATE_NAME}`]);
    openssl(['x509', '-req', '-in', request, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-days', String(DAYS.service), '-extfile', extensions, '-out', certFile]);
    rmSync(request);
    rmSync(extensions);
    rmSync(file('ca.srl'), { force: true });
    chmodSync(caKey, 0o600);
    chmodSync(keyFile, 0o600);
  }
  return {
    caFile,
    certFile,
    keyFile,
    env: { FAAS_TLS_CA_FILE: caFile, FAAS_TLS_CERT_FILE: certFile, FAAS_TLS_KEY_FILE: keyFile, FAAS_TLS_SERVER_NAME: SERVICE_CERTIFICATE_NAME },
  };
}
