/**
 * `faas deploy`: a folder (with its runtime and handler given or read from
 * its faas.json), or every function of an OpenFaaS stack.yml, each bundled,
 * uploaded, deployed and checked back.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleFolder, type Bundle } from './bundle.js';
import { CliError, EXIT, type Gateway } from './gateway.js';
import { kib, type Output } from './output.js';
import { readStack, type StackFunction } from './stack.js';
import { TEMPLATES, shimSource } from './templates.js';

export interface FunctionSpec {
  readonly name: string;
  readonly runtime: string;
  readonly handler: string;
  readonly environment?: Record<string, string>;
  readonly secrets?: string[];
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly memoryMb?: number;
  readonly timeoutSeconds?: number;
  readonly maxConcurrency?: number;
  readonly reservedConcurrency?: number;
  readonly idleTimeoutSeconds?: number;
}

export interface Deployed {
  readonly name: string;
  readonly digest: string;
  readonly version: number;
  readonly created: boolean;
}

/** Uploads the bundle and puts the function; returns what the platform stored. */
async function deployBundle(gateway: Gateway, output: Output, spec: FunctionSpec, bundle: Bundle): Promise<Deployed> {
  output.progress(`${spec.name}: bundled ${bundle.files} files, ${kib(bundle.bytes.byteLength)}; uploading`);
  const upload = await gateway.request('POST', '/v1/code', { body: bundle.bytes });
  const digest = (upload.json as { digest: string }).digest;
  output.progress(`${spec.name}: code ${digest}; deploying (${spec.runtime}, ${spec.handler})`);
  const { name, ...fields } = spec;
  const put = await gateway.request('PUT', `/v1/functions/${encodeURIComponent(name)}`, { json: { ...fields, code: { digest } } });
  // Ready means stubs serves this very code: the next call runs it (sandboxes start on demand).
  const check = await gateway.request('GET', `/v1/functions/${encodeURIComponent(name)}`);
  const stored = check.json as { code: { digest: string }; version: number };
  if (stored.code.digest !== digest) throw new CliError(`${name}: the platform shows code ${stored.code.digest}, not the ${digest} just deployed (another deploy at the same time?)`, EXIT.failed);
  output.progress(`${spec.name}: ready (revision ${stored.version})`);
  return { name, digest, version: stored.version, created: put.status === 201 };
}

/** `faas.json` in the folder: {name, runtime, handler, …} as the /v1 API takes them. */
function folderSpec(dir: string, flags: Partial<FunctionSpec>): FunctionSpec {
  const file = path.join(dir, 'faas.json');
  let fromFile: Partial<FunctionSpec> = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Partial<FunctionSpec>;
    } catch (error) {
      throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`, EXIT.usage);
    }
  }
  const merged = { ...fromFile, ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)) } as Partial<FunctionSpec>;
  const name = merged.name ?? path.basename(path.resolve(dir));
  if (!merged.runtime || !merged.handler) {
    throw new CliError(`${dir}: say how to run it`, EXIT.usage, 'pass --runtime and --handler (e.g. --runtime nodejs --handler index.handler), or write them in faas.json');
  }
  return { ...merged, name, runtime: merged.runtime, handler: merged.handler };
}

export async function deployFolder(gateway: Gateway, output: Output, dir: string, flags: Partial<FunctionSpec>): Promise<Deployed> {
  const spec = folderSpec(dir, flags);
  output.progress(`${spec.name}: bundling ${dir}`);
  return deployBundle(gateway, output, spec, bundleFolder(dir));
}

/** One stack function: its handler folder as `function/` beside the shim that runs its template. */
async function deployStackFunction(gateway: Gateway, output: Output, fn: StackFunction): Promise<Deployed> {
  const template = TEMPLATES[fn.lang]!;
  output.progress(`${fn.name}: bundling ${fn.handlerDir} (${fn.lang} template)`);
  const bundle = bundleFolder(fn.handlerDir, { prefix: 'function', extra: { [template.shim.name]: shimSource(template) } });
  return deployBundle(gateway, output, {
    name: fn.name,
    runtime: template.runtime,
    handler: template.handler,
    environment: fn.environment,
    secrets: fn.secrets,
    labels: fn.labels,
    annotations: { ...fn.annotations, 'com.openfaas.lang': fn.lang },
    ...(fn.memoryMb !== undefined ? { memoryMb: fn.memoryMb } : {}),
    ...(fn.maxConcurrency !== undefined ? { maxConcurrency: fn.maxConcurrency } : {}),
    ...(fn.reservedConcurrency !== undefined ? { reservedConcurrency: fn.reservedConcurrency } : {}),
    ...(fn.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: fn.idleTimeoutSeconds } : {}),
  }, bundle);
}

export async function deployStack(gatewayFor: (stackGateway?: string) => Gateway, output: Output, file: string, only?: string): Promise<Deployed[]> {
  const stack = readStack(file, only);
  const gateway = gatewayFor(stack.gateway);
  const deployed: Deployed[] = [];
  for (const fn of stack.functions) deployed.push(await deployStackFunction(gateway, output, fn));
  return deployed;
}
