// Kept apart from shared-variables.ts, which needs env.ts: env.ts runs these checks on every service's configuration.

const TRANSPORT_SECURITY_FILES = ['FAAS_TLS_CA_FILE', 'FAAS_TLS_CERT_FILE', 'FAAS_TLS_KEY_FILE'] as const;

/**
 * Problems among the shared variables that only show together: mutual TLS
 * half configured would leave a service that no peer can talk to.
 */
export function platformVariableProblems(config: Readonly<Record<string, unknown>>): string[] {
  const set = TRANSPORT_SECURITY_FILES.filter((name) => config[name]);
  if (set.length === 0 || set.length === TRANSPORT_SECURITY_FILES.length) return [];
  const missing = TRANSPORT_SECURITY_FILES.filter((name) => !config[name]);
  return [`${missing.join(' and ')} must be set too: mutual TLS needs FAAS_TLS_CA_FILE, FAAS_TLS_CERT_FILE and FAAS_TLS_KEY_FILE together (or none of them)`];
}
