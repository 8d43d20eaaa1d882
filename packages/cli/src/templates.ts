/**
 * OpenFaaS template languages and how their handler folders run here
 * unchanged: the folder goes into the bundle as `function/`, as the
 * template's own image lays it out, and a shim of ours (../shims) takes
 * the place of the template's server, on one of our runtimes.
 */
import { readFileSync } from 'node:fs';

export interface TemplateRuntime {
  readonly runtime: string;
  readonly handler: string;
  /** Our shim's file name in the bundle, and the file it is made from. */
  readonly shim: { readonly name: string; readonly source: string };
}

const NODE: TemplateRuntime = { runtime: 'nodejs', handler: 'openfaas-shim.handler', shim: { name: 'openfaas-shim.cjs', source: 'openfaas-node.cjs' } };

export const TEMPLATES: Readonly<Record<string, TemplateRuntime>> = {
  node20: NODE,
  node18: NODE,
  node22: NODE,
  // The classic watchdog's model: one process per request, body on stdin.
  python3: { runtime: 'exec', handler: 'python3 openfaas_shim.py', shim: { name: 'openfaas_shim.py', source: 'openfaas_python3.py' } },
  'python3-http': { runtime: 'python3', handler: 'openfaas_shim.handler', shim: { name: 'openfaas_shim.py', source: 'openfaas_python3_http.py' } },
};

export function shimSource(template: TemplateRuntime): string {
  return readFileSync(new URL(`../shims/${template.shim.source}`, import.meta.url), 'utf8');
}
