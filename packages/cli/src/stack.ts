/**
 * OpenFaaS stack files (stack.yml) as deploy specs: each function's
 * template language, handler folder, environment (inline and
 * `environment_file`), secrets, labels, annotations and limits.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
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

/** "128Mi", "1G", "256m" (OpenFaaS writes Kubernetes quantities) as MiB. */
export function memoryMb(file: string, where: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const match = /^(\d+)(Ki|Mi|Gi|k|K|M|G|m)?$/.exec(String(value).trim());
  if (!match) throw bad(file, `${where} ${JSON.stringify(value)} is not a memory size like 128Mi`);
  const factor: Record<string, number> = { '': 1 / 2 ** 20, Ki: 1 / 1024, Mi: 1, Gi: 1024, k: 1e3 / 2 ** 20, K: 1e3 / 2 ** 20, M: 1e6 / 2 ** 20, m: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 };
  return Math.ceil(Number(match[1]) * factor[match[2] ?? '']!);
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
      return {
        name,
        lang,
        handlerDir: path.resolve(dir, fn.handler),
        environment,
        secrets: secrets.map(String),
        labels: stringMap(file, `${name}: labels`, fn.labels),
        annotations: stringMap(file, `${name}: annotations`, fn.annotations),
        memoryMb: memoryMb(file, `${name}: limits.memory`, limits?.memory),
      };
    });
  if (only !== undefined && functions.length === 0) throw bad(file, `has no function named ${only}`);
  const gateway = typeof doc.provider?.gateway === 'string' ? doc.provider.gateway : undefined;
  return { gateway, functions };
}
