/**
 * Aliases as the REST API shows and takes them, in AWS Lambda's shape: the
 * version as a string, and a canary as `routingConfig.additionalVersionWeights`
 * (one version and its share of the calls).
 */
import { PlatformError } from '@faas/errors';
import { FunctionAliasSchema, VERSION_NUMBER, create, type FunctionAlias } from '@faas/protocol';
import { badRequest, isPlainObject, isoOrNull } from './function-json.js';

export interface AliasJson {
  readonly name: string;
  readonly functionVersion: string;
  readonly routingConfig: { readonly additionalVersionWeights: Record<string, number> };
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
}

const FIELDS = new Set(['name', 'functionVersion', 'routingConfig', 'createdAt', 'updatedAt']);

export function aliasToJson(alias: FunctionAlias): AliasJson {
  const weights: Record<string, number> = {};
  if (alias.additionalWeight > 0) weights[String(alias.additionalVersion)] = alias.additionalWeight;
  return {
    name: alias.name,
    functionVersion: String(alias.functionVersion),
    routingConfig: { additionalVersionWeights: weights },
    createdAt: isoOrNull(alias.createdAtMs),
    updatedAt: isoOrNull(alias.updatedAtMs),
  };
}

/** Checks a PUT body's shape; whether its versions exist is stubs' to judge. */
export function aliasFromRequest(name: string, body: unknown): FunctionAlias {
  if (!isPlainObject(body)) throw badRequest('the body must be a JSON object like {"functionVersion": "1"}');
  for (const field of Object.keys(body)) if (!FIELDS.has(field)) throw badRequest(`unknown field "${field}"`);
  if (body.name !== undefined && body.name !== name) throw badRequest(`field "name" (${JSON.stringify(body.name)}) differs from the path (${name})`);
  const functionVersion = versionNumber(body.functionVersion, 'functionVersion');
  let additionalVersion = 0;
  let additionalWeight = 0;
  if (body.routingConfig !== undefined) {
    const routing = body.routingConfig;
    if (!isPlainObject(routing)) throw badRequest('field "routingConfig" must be an object like {"additionalVersionWeights": {"2": 0.1}}');
    for (const field of Object.keys(routing)) if (field !== 'additionalVersionWeights') throw badRequest(`unknown field "routingConfig.${field}"`);
    const weights = routing.additionalVersionWeights ?? {};
    if (!isPlainObject(weights)) throw badRequest('field "routingConfig.additionalVersionWeights" must be an object of version → weight');
    const entries = Object.entries(weights);
    if (entries.length > 1) throw new PlatformError('invalid_alias', 'an alias splits its calls between two versions at most: one additional version');
    if (entries.length === 1) {
      const [version, weight] = entries[0]!;
      additionalVersion = versionNumber(version, `routingConfig.additionalVersionWeights.${version}`);
      if (typeof weight !== 'number') throw badRequest(`the weight of version ${version} must be a number between 0 and 1`);
      additionalWeight = weight;
    }
  }
  return create(FunctionAliasSchema, { name, functionVersion, additionalVersion, additionalWeight });
}

function versionNumber(value: unknown, field: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !VERSION_NUMBER.test(text)) throw badRequest(`field "${field}" must be a published version's number, like "1"`);
  return Number(text);
}
