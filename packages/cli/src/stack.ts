/**
 * OpenFaaS stack files (stack.yml) as deploy specs: each function's
 * template language, handler folder, environment (inline and
 * `environment_file`), secrets, labels, annotations and limits.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { memoryMbOfQuantity, openFaasScaleLimits } from '@faas/protocol/openfaas';
import { parse } from 'yaml';
import { CliError, EXIT } from './gateway.js';
import { TEMPLATES } from './templates.js';

export interface StackFunction {
  readonly name: string;
  readonly lang: string;
  /** Absolute path of the handler folder. */
  readonly handlerDir: string;
  readonly environment: Record<string, string>;
  readonly secrets: string[];
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly memoryMb?: number;
  /** From the com.openfaas.scale.* labels, as the OpenFaaS API maps them. */
  readonly maxConcurrency?: number;
  readonly reservedConcurrency?: number;
  readonly idleTimeoutSeconds?: number;
}

export interface Stack {
  readonly gateway?: string;
  readonly functions: StackFunction[];
}

const bad = (file: string, message: string) => new CliError(`${file}: ${message}`, EXIT.usage);

function stringMap(file: string, where: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw bad(file, `${where} must be a map`);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, String(item)]));
}

/** A Kubernetes memory quantity ("128Mi", "1G") as MiB, or a usage error naming where it was. */
export function memoryMb(file: string, where: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    return memoryMbOfQuantity(String(value));
  } catch (error) {
    throw bad(file, `${where}: ${(error as Error).message}`);
  }
}

/** The scale labels as limits, or a usage error naming the function. */
export function scaleLimits(file: string, name: string, labels: Record<string, string>): ReturnType<typeof openFaasScaleLimits> {
  try {
    return openFaasScaleLimits(labels);
  } catch (error) {
    throw bad(file, `function ${name}: ${(error as Error).message}`);
  }
}

export function readStack(file: string, only?: string): Stack {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.usage);
  }
  let doc: { provider?: { gateway?: unknown }; functions?: Record<string, Record<string, unknown>> };
  try {
    doc = parse(text) ?? {};
  } catch (error) {
    throw bad(file, `not valid YAML: ${(error as Error).message}`);
  }
  const dir = path.dirname(path.resolve(file));
  if (!doc.functions || typeof doc.functions !== 'object') throw bad(file, 'has no functions: map');
  const functions = Object.entries(doc.functions)
    .filter(([name]) => only === undefined || name === only)
    .map(([name, fn]): StackFunction => {
      const lang = String(fn.lang ?? '');
      if (!TEMPLATES[lang]) {
        throw bad(file, `function ${name}: lang ${JSON.stringify(lang)} is not one this CLI can run; use ${Object.keys(TEMPLATES).join(', ')} (or deploy a folder with \`faas deploy <dir> --runtime …\`)`);
      }
      if (typeof fn.handler !== 'string') throw bad(file, `function ${name}: handler must name its folder`);
      const environment: Record<string, string> = {};
      const envFiles = fn.environment_file === undefined ? [] : Array.isArray(fn.environment_file) ? fn.environment_file : [fn.environment_file];
      for (const envFile of envFiles) {
        const values = parse(readFileSync(path.resolve(dir, String(envFile)), 'utf8')) as { environment?: unknown } | null;
        Object.assign(environment, stringMap(file, `${name}: ${String(envFile)} environment`, values?.environment));
      }
      Object.assign(environment, stringMap(file, `${name}: environment`, fn.environment));
      const secrets = fn.secrets === undefined || fn.secrets === null ? [] : fn.secrets;
      if (!Array.isArray(secrets)) throw bad(file, `function ${name}: secrets must be a list of names`);
      const limits = (fn.limits ?? fn.requests) as { memory?: unknown } | undefined;
      const labels = stringMap(file, `${name}: labels`, fn.labels);
      return {
        name,
        lang,
        handlerDir: path.resolve(dir, fn.handler),
        environment,
        secrets: secrets.map(String),
        labels,
        annotations: stringMap(file, `${name}: annotations`, fn.annotations),
        memoryMb: memoryMb(file, `${name}: limits.memory`, limits?.memory),
        ...scaleLimits(file, name, labels),
      };
    });
  if (only !== undefined && functions.length === 0) throw bad(file, `has no function named ${only}`);
  const gateway = typeof doc.provider?.gateway === 'string' ? doc.provider.gateway : undefined;
  return { gateway, functions };
}
