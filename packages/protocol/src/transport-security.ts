/**
 * How this process's gRPC servers and clients protect their connections:
 * plaintext by default, or mutual TLS where every side shows a certificate
 * signed by the platform's CA. Set once at start-up (each service's main),
 * then read by listen() and createClient(), so no call site can forget it.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

/** The shared FAAS_TLS_* variables, as every service's configuration carries them. */
export interface TransportSecurityConfig {
  readonly FAAS_TLS_CA_FILE: string;
  readonly FAAS_TLS_CERT_FILE: string;
  readonly FAAS_TLS_KEY_FILE: string;
  readonly FAAS_TLS_SERVER_NAME?: string;
}

interface MutualTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly serverName: string;
}

let mutualTls: MutualTls | undefined;

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`${variable}: cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** Turns mutual TLS on when the three files are named (the configuration checked they come together), off otherwise. */
export function configureTransportSecurity(config: TransportSecurityConfig): void {
  if (!config.FAAS_TLS_CA_FILE) {
    mutualTls = undefined;
    return;
  }
  mutualTls = {
    ca: readPem('FAAS_TLS_CA_FILE', config.FAAS_TLS_CA_FILE),
    cert: readPem('FAAS_TLS_CERT_FILE', config.FAAS_TLS_CERT_FILE),
    key: readPem('FAAS_TLS_KEY_FILE', config.FAAS_TLS_KEY_FILE),
    serverName: config.FAAS_TLS_SERVER_NAME ?? '',
  };
}

export function serverCredentials(): grpc.ServerCredentials {
  if (!mutualTls) return grpc.ServerCredentials.createInsecure();
  // checkClientCertificate: a caller without a certificate from our CA is cut off in the handshake.
  return grpc.ServerCredentials.createSsl(mutualTls.ca, [{ cert_chain: mutualTls.cert, private_key: mutualTls.key }], true);
}

/** The credentials and channel options a client dials with. */
export function channelSecurity(): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (!mutualTls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  return {
    credentials: grpc.credentials.createSsl(mutualTls.ca, mutualTls.key, mutualTls.cert),
    // Funclets listen on addresses made at run time (network namespaces): one name in the certificate covers them all.
    options: mutualTls.serverName ? { 'grpc.ssl_target_name_override': mutualTls.serverName } : {},
  };
}
