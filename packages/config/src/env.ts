import { readFileSync } from 'node:fs';
import { platformVariableProblems } from './shared-checks.js';

/**
 * Reads a service's environment once, at start-up, against a declared
 * schema. Any bad variable stops the service with a message that names it,
 * instead of surfacing later as a confusing runtime failure.
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Source = Readonly<Record<string, string | undefined>>;

export interface VariableSpec<T> {
  /** Default used when the variable is unset or empty; omit to make it required. */
  readonly default?: T;
  /** The default is worked out on each host (its name, its memory): listings describe it rather than show this host's. */
  readonly defaultVaries?: boolean;
  readonly parse: (raw: string) => T;
  /** What the variable does, rendered into `--help`-style listings. */
  readonly description: string;
}

export type Schema = Record<string, VariableSpec<unknown>>;
export type ConfigOf<S extends Schema> = { readonly [K in keyof S]: S[K] extends VariableSpec<infer T> ? T : never };

export function readEnv<S extends Schema>(schema: S, source: Source = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const raw = source[name];
    if (raw === undefined || raw === '') {
      if (spec.default === undefined) problems.push(`${name} is required (${spec.description})`);
      else config[name] = spec.default;
      continue;
    }
    try {
      config[name] = spec.parse(raw);
    } catch (error) {
      problems.push(`${name}=${JSON.stringify(raw)} is invalid: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config as ConfigOf<S>;
}

export const parse = {
  string: (raw: string): string => raw,

  integer(min: number, max: number) {
    return (raw: string): number => {
      if (!/^-?\d+$/.test(raw)) throw new Error('expected an integer');
      const value = Number(raw);
      if (value < min || value > max) throw new Error(`expected an integer from ${min} to ${max}`);
      return value;
    };
  },

  port: (raw: string): number => parse.integer(0, 65535)(raw),

  boolean(raw: string): boolean {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new Error('expected true or false');
  },

  /** "host:port", as gRPC clients take it. */
  address(raw: string): string {
    if (!/^[^\s:]+:\d{1,5}$/.test(raw) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(raw)) {
      throw new Error('expected host:port');
    }
    return raw;
  },

  /** "host:port[,host:port...]": several replicas of one service. */
  addressList(raw: string): string[] {
    const addresses = raw.split(',').map((part) => part.trim()).filter(Boolean);
    if (addresses.length === 0) throw new Error('expected host:port[,host:port...]');
    for (const address of addresses) parse.address(address);
    return addresses;
  },

  /** "a,b,c": a comma-separated list of words; empty gives []. */
  list(raw: string): string[] {
    return raw.split(',').map((part) => part.trim()).filter(Boolean);
  },

  url(raw: string): string {
    new URL(raw);
    return raw;
  },

  /** "url[,url...]": several servers of one cluster. */
  urlList(raw: string): string[] {
    const urls = parse.list(raw);
    if (urls.length === 0) throw new Error('expected url[,url...]');
    for (const url of urls) parse.url(url);
    return urls;
  },

  /** A duration in milliseconds from "250ms", "30s", "90m", "24h", "7d", or bare seconds ("3600"). */
  duration(min: number, max: number) {
    return (raw: string): number => {
      const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
      if (!match) throw new Error('expected a duration like 30s, 90m, 24h or 7d');
      const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
      const value = Number(match[1]) * unitMs;
      if (value < min || value > max) throw new Error(`expected a duration from ${min} ms to ${max} ms`);
      return value;
    };
  },

  oneOf<T extends string>(...values: T[]) {
    return (raw: string): T => {
      if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}`);
      return raw as T;
    };
  },
};

/** Shorthand for a variable with a default. */
export function optional<T>(defaultValue: T, parser: (raw: string) => T, description: string): VariableSpec<T> {
  return { default: defaultValue, parse: parser, description };
}

/** Shorthand for a variable whose default depends on the host it runs on. */
export function optionalPerHost<T>(defaultValue: T, parser: (raw: string) => T, description: string): VariableSpec<T> {
  return { default: defaultValue, defaultVaries: true, parse: parser, description };
}

/** Shorthand for a variable that must be set. */
export function required<T>(parser: (raw: string) => T, description: string): VariableSpec<T> {
  return { parse: parser, description };
}

/**
 * Reads the environment or exits the process with the problems listed: the
 * one behaviour every service's entry point wants. `check` names problems
 * of variables together (one needed because another is set).
 */
export function loadEnvOrExit<S extends Schema>(service: string, schema: S, check: (config: ConfigOf<S>) => string[] = () => []): ConfigOf<S> {
  try {
    const config = readEnv(schema);
    const problems = [...platformVariableProblems(config), ...check(config)];
    if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    exitForConfiguration(service, error.message);
  }
}

/** The contents of a file a variable names, or the service stops as for a bad variable. */
export function readVariableFileOrExit(service: string, variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    exitForConfiguration(service, `${variable}: cannot read ${file}: ${(error as Error).message}`);
  }
}

function exitForConfiguration(service: string, message: string): never {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service, msg: message })}\n`);
  process.exit(78); // EX_CONFIG
}
