import { describe, expect, it } from 'vitest';
import { platformVariables, platformVariableProblems, readEnv } from './index.js';

const problemsOf = (source: Record<string, string>) => platformVariableProblems(readEnv(platformVariables, source));

describe('platformVariableProblems', () => {
  it('accepts mutual TLS fully configured, or not at all', () => {
    expect(problemsOf({})).toEqual([]);
    expect(problemsOf({ FAAS_TLS_CA_FILE: 'ca.pem', FAAS_TLS_CERT_FILE: 'service.pem', FAAS_TLS_KEY_FILE: 'service.key' })).toEqual([]);
  });

  it('names the files missing from half a mutual TLS configuration', () => {
    expect(problemsOf({ FAAS_TLS_CA_FILE: 'ca.pem' })).toEqual([expect.stringMatching(/^FAAS_TLS_CERT_FILE and FAAS_TLS_KEY_FILE must be set too/)]);
    expect(problemsOf({ FAAS_TLS_CERT_FILE: 'service.pem', FAAS_TLS_KEY_FILE: 'service.key' })).toEqual([expect.stringMatching(/^FAAS_TLS_CA_FILE must be set too/)]);
  });
});
