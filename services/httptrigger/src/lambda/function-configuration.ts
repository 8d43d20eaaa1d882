/**
 * Lambda's FunctionConfiguration and AliasConfiguration documents against
 * our function configs. What only Lambda has (its runtime identifier,
 * description, role, code size) is kept in the function's annotations
 * under `lambda/`, so it survives and shows back.
 */
import { PlatformError } from '@faas/errors';
import { LATEST, codeDigestHex, type FunctionAlias, type FunctionConfig } from '@faas/protocol';

/** Lambda ARNs name this region and account: there is one of each here. */
const ARN_PREFIX = 'arn:aws:lambda:local:000000000000:function:';

export const ANNOTATION = {
  runtime: 'lambda/runtime',
  description: 'lambda/description',
  role: 'lambda/role',
  codeSize: 'lambda/code-size',
} as const;

/** Lambda's runtime identifiers as ours: any nodejs*.x, any python3.*. */
export function runtimeFromLambda(runtime: unknown): string {
  if (typeof runtime !== 'string') throw invalidParameter('Runtime is required: nodejs20.x, python3.12, …');
  if (/^nodejs\d+\.x$/.test(runtime)) return 'nodejs';
  if (/^python3\.\d+$/.test(runtime)) return 'python3';
  throw invalidParameter(`Runtime ${runtime} is not supported here: use a nodejs*.x or python3.* runtime`);
}

/** A Lambda runtime name for a function deployed some other way. */
function lambdaRuntimeOf(config: FunctionConfig): string {
  return config.annotations[ANNOTATION.runtime] ?? (config.runtime === 'nodejs' ? 'nodejs20.x' : config.runtime === 'python3' ? 'python3.11' : 'provided.al2023');
}

export function invalidParameter(message: string): PlatformError {
  return new PlatformError('bad_request', message);
}

/** A function's name from what Lambda accepts for it: the name, or its full or partial ARN (with a qualifier). */
export function nameFromLambda(value: string): { name: string; qualifier?: string } {
  const arn = /^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?([^:]+)(?::([^:]+))?$/.exec(value);
  if (!arn) throw invalidParameter(`${JSON.stringify(value.slice(0, 140))} is not a function name or ARN`);
  return { name: arn[1]!, qualifier: arn[2] };
}

function lastModified(ms: bigint): string {
  // Lambda's own format: 2024-01-01T00:00:00.000+0000.
  return new Date(Number(ms)).toISOString().replace('Z', '+0000');
}

export function functionConfiguration(config: FunctionConfig): Record<string, unknown> {
  const version = config.publishedVersion > 0 ? String(config.publishedVersion) : LATEST;
  const environment = Object.keys(config.environment).length > 0 ? { Variables: { ...config.environment } } : undefined;
  return {
    FunctionName: config.name,
    FunctionArn: `${ARN_PREFIX}${config.name}${version === LATEST ? '' : `:${version}`}`,
    Runtime: lambdaRuntimeOf(config),
    Role: config.annotations[ANNOTATION.role] ?? '',
    Handler: config.handler,
    CodeSize: Number(config.annotations[ANNOTATION.codeSize] ?? 0),
    Description: config.annotations[ANNOTATION.description] ?? '',
    Timeout: config.timeoutSeconds,
    MemorySize: config.memoryMb,
    LastModified: lastModified(config.updatedAtMs),
    CodeSha256: Buffer.from(codeDigestHex(config.codeDigest) ?? '', 'hex').toString('base64'),
    Version: version,
    ...(environment ? { Environment: environment } : {}),
    RevisionId: String(config.version),
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Architectures: [process.arch === 'arm64' ? 'arm64' : 'x86_64'],
  };
}

export function aliasConfiguration(functionName: string, alias: FunctionAlias, description = ''): Record<string, unknown> {
  const weights = alias.additionalWeight > 0 ? { AdditionalVersionWeights: { [String(alias.additionalVersion)]: alias.additionalWeight } } : undefined;
  return {
    AliasArn: `${ARN_PREFIX}${functionName}:${alias.name}`,
    Name: alias.name,
    FunctionVersion: String(alias.functionVersion),
    Description: description,
    ...(weights ? { RoutingConfig: weights } : {}),
    RevisionId: String(alias.updatedAtMs),
  };
}

/** Lambda's alias body in the shape our alias parser reads. */
export function aliasRequestBody(body: Record<string, unknown>, fallback?: FunctionAlias): Record<string, unknown> {
  const routing = body.RoutingConfig as { AdditionalVersionWeights?: unknown } | undefined;
  const keptWeights = fallback && fallback.additionalWeight > 0 ? { [String(fallback.additionalVersion)]: fallback.additionalWeight } : {};
  return {
    functionVersion: body.FunctionVersion ?? (fallback ? String(fallback.functionVersion) : undefined),
    routingConfig: { additionalVersionWeights: routing === undefined ? keptWeights : (routing?.AdditionalVersionWeights ?? {}) },
  };
}
