/**
 * OpenFaaS's deployment and status documents (faas-provider's
 * FunctionDeployment and FunctionStatus) against our function configs.
 * There is no image registry: `image` names a runtime and a code digest
 * ("nodejs@sha256:…", "sha256:…" for a program), and any other image with
 * an `envProcess` runs that program on the default base root filesystem
 * (the host's system directories, read-only).
 */
import { PlatformError } from '@faas/errors';
import { BUILT_IN_RUNTIMES, MEMORY_MB, isCodeDigest, memoryMbOfQuantity, openFaasScaleLimits, type FunctionConfig, type FunctionConfigSchema, type MessageInitShape } from '@faas/protocol';

/** The one namespace there is; OpenFaaS's default name for it. */
export const NAMESPACE = 'openfaas-fn';

/** Handlers when `envProcess` names none, as our templates lay them out. */
const DEFAULT_HANDLERS: Record<string, string> = { nodejs: 'index.handler', python3: 'handler.handle' };

export interface FunctionDeployment {
  service: string;
  image: string;
  namespace?: string;
  envProcess?: string;
  envVars?: Record<string, string> | null;
  constraints?: string[] | null;
  secrets?: string[] | null;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  limits?: { memory?: string; cpu?: string } | null;
  requests?: { memory?: string; cpu?: string } | null;
  readOnlyRootFilesystem?: boolean;
}

/** What an image resolved to; `note` says when it was not found and the default root filesystem stands in. */
export interface ResolvedImage {
  readonly runtime: string;
  readonly codeDigest: string | undefined;
  readonly note?: string;
}

const RUNTIME_IMAGE = /^([a-z0-9]+|custom:[a-z][a-z0-9-]{0,62})@(sha256:[0-9a-f]{64})$/;

export const IMAGE_RULE = 'an image names "<runtime>@sha256:<hex>" (runtime nodejs, python3, exec, http or custom:<name>; upload the code with POST /v1/code), or "sha256:<hex>" with an envProcess; any other image needs an envProcess, the program to run';

export function resolveImage(image: string, envProcess: string): ResolvedImage {
  const runtimeImage = RUNTIME_IMAGE.exec(image);
  if (runtimeImage) {
    const runtime = runtimeImage[1]!;
    if (!runtime.startsWith('custom:') && !(BUILT_IN_RUNTIMES as readonly string[]).includes(runtime)) throw new PlatformError('invalid_image', `unknown runtime "${runtime}" in image ${JSON.stringify(image)}: ${IMAGE_RULE}`);
    return { runtime, codeDigest: runtimeImage[2]! };
  }
  if (isCodeDigest(image)) {
    if (envProcess === '') throw new PlatformError('invalid_image', `image ${JSON.stringify(image)} is code without a program: give envProcess (fprocess), the command to run`);
    return { runtime: 'exec', codeDigest: image };
  }
  if (envProcess === '') throw new PlatformError('invalid_image', `cannot resolve image ${JSON.stringify(image.slice(0, 200))}: ${IMAGE_RULE}`);
  return {
    runtime: 'exec',
    codeDigest: undefined,
    note: `image ${JSON.stringify(image.slice(0, 200))} is not in this platform's code store; "${envProcess}" runs on the default base root filesystem instead`,
  };
}

/** Checks the document's shape; faas-cli sends null for empty maps. */
export function parseDeployment(body: unknown): FunctionDeployment {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PlatformError('bad_request', 'the deployment must be a JSON object');
  const doc = body as Record<string, unknown>;
  const string = (field: string, required = false) => {
    const value = doc[field];
    if (value === undefined || value === null) {
      if (required) throw new PlatformError('bad_request', `field "${field}" is required`);
      return undefined;
    }
    if (typeof value !== 'string') throw new PlatformError('bad_request', `field "${field}" must be a string`);
    return value;
  };
  const stringMap = (field: string) => {
    const value = doc[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((item) => typeof item !== 'string')) throw new PlatformError('bad_request', `field "${field}" must be an object of strings`);
    return value as Record<string, string>;
  };
  const stringList = (field: string) => {
    const value = doc[field];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new PlatformError('bad_request', `field "${field}" must be an array of strings`);
    return value as string[];
  };
  const resources = (field: string) => {
    const value = doc[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw new PlatformError('bad_request', `field "${field}" must be an object like {"memory": "128Mi"}`);
    return value as { memory?: string; cpu?: string };
  };
  const service = string('service', true)!;
  if (service === '') throw new PlatformError('bad_request', 'field "service" must name the function');
  return {
    service,
    image: string('image', true)!,
    namespace: string('namespace'),
    envProcess: string('envProcess'),
    envVars: stringMap('envVars'),
    constraints: stringList('constraints'),
    secrets: stringList('secrets'),
    labels: stringMap('labels'),
    annotations: stringMap('annotations'),
    limits: resources('limits'),
    requests: resources('requests'),
  };
}

/** A deployment as a function config; `codeDigest` fills in for an image that resolved to none. */
export function configFromDeployment(
  deployment: FunctionDeployment,
  resolved: ResolvedImage,
  codeDigest: string,
): MessageInitShape<typeof FunctionConfigSchema> {
  assertNamespace(deployment.namespace);
  const envProcess = deployment.envProcess ?? '';
  const handler = envProcess || DEFAULT_HANDLERS[resolved.runtime];
  if (!handler) throw new PlatformError('invalid_image', `runtime ${resolved.runtime} needs envProcess, the command to run`);
  const labels = { ...(deployment.labels ?? {}) };
  const memory = deployment.limits?.memory || deployment.requests?.memory;
  return {
    name: deployment.service,
    runtime: resolved.runtime,
    handler,
    codeDigest,
    image: deployment.image,
    environment: { ...(deployment.envVars ?? {}) },
    secrets: [...(deployment.secrets ?? [])],
    labels,
    annotations: { ...(deployment.annotations ?? {}) },
    memoryMb: memory ? Math.max(memoryMbOfQuantity(memory), MEMORY_MB.min) : MEMORY_MB.default,
    ...openFaasScaleLimits(labels),
  };
}

/** faas-provider's FunctionStatus; empty fields left out as its `omitempty` tags do. */
export function statusOf(config: FunctionConfig): Record<string, unknown> {
  const nonEmpty = (value: Record<string, string>) => (Object.keys(value).length > 0 ? { ...value } : undefined);
  return {
    name: config.name,
    image: config.image || `${config.runtime}@${config.codeDigest}`,
    namespace: NAMESPACE,
    envProcess: config.handler,
    envVars: nonEmpty(config.environment),
    secrets: config.secrets.length > 0 ? [...config.secrets] : undefined,
    labels: nonEmpty(config.labels),
    annotations: nonEmpty(config.annotations),
    limits: { memory: `${config.memoryMb}Mi` },
    // Sandboxes start on demand: a function is always ready to be called,
    // and keeps its reserved sandboxes warm. Replicas are those reserved ones.
    replicas: config.reservedConcurrency || undefined,
    availableReplicas: Math.max(1, config.reservedConcurrency),
    createdAt: new Date(Number(config.createdAtMs)).toISOString(),
  };
}

/** `name` or OpenFaaS's `name.namespace` (a `:qualifier` after either is kept); only our one namespace exists. */
export function splitNamespace(target: string): string {
  const colon = target.indexOf(':');
  const name = colon === -1 ? target : target.slice(0, colon);
  const dot = name.indexOf('.');
  if (dot === -1) return target;
  assertNamespace(name.slice(dot + 1));
  return name.slice(0, dot) + (colon === -1 ? '' : target.slice(colon));
}

export function assertNamespace(namespace: string | undefined): void {
  if (namespace !== undefined && namespace !== '' && namespace !== NAMESPACE) {
    throw new PlatformError('function_not_found', `no namespace ${JSON.stringify(namespace.slice(0, 80))}: the only one is ${NAMESPACE}`);
  }
}
