/**
 * The CLI's way to the platform: the gateway's URL, the token it sends
 * (`--token`, FAAS_TOKEN, or the admin token file `npm run up` writes),
 * and failures turned into messages that say what to do, with an exit code
 * that says what kind of failure it was.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What an exit code means; scripts can tell these apart. */
export const EXIT = {
  ok: 0,
  /** Anything the platform refused or failed that has no code below. */
  failed: 1,
  /** Wrong arguments or files (usage). */
  usage: 2,
  notFound: 3,
  /** The function ran and failed (invoke). */
  functionError: 4,
  /** The platform could not be reached. */
  unreachable: 5,
  /** Missing or refused credentials. */
  unauthorized: 6,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface GatewayOptions {
  readonly gateway?: string;
  readonly token?: string;
}

/** The token to send: --token, then FAAS_TOKEN, then the admin token file; none → no header. */
export function tokenFrom(options: GatewayOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (options.token) return options.token;
  if (env.FAAS_TOKEN) return env.FAAS_TOKEN;
  const file = path.join(env.FAAS_WORK_DIR ? path.resolve(env.FAAS_WORK_DIR) : path.join(REPO_ROOT, '.run'), 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

export function gatewayFrom(options: GatewayOptions, env: NodeJS.ProcessEnv = process.env): string {
  const url = options.gateway ?? env.FAAS_GATEWAY ?? `http://127.0.0.1:${env.HTTP_PORT ?? 8080}`;
  return url.replace(/\/+$/, '');
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  /** The body as JSON; undefined when it is not JSON. */
  readonly json: unknown;
}

export class Gateway {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(options: GatewayOptions) {
    this.url = gatewayFrom(options);
    this.token = tokenFrom(options);
  }

  /** Sends one request; platform errors ({code, message}) become CliErrors unless `accept` lists the status. */
  async request(method: string, route: string, init: { json?: unknown; body?: Uint8Array; headers?: Record<string, string>; acceptAny?: boolean } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: Uint8Array | string | undefined = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await fetch(`${this.url}${route}`, { method, headers, body });
    } catch (error) {
      throw new CliError(`cannot reach the platform at ${this.url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, EXIT.unreachable, 'start it with `npm run up`, or point --gateway (or FAAS_GATEWAY) at it');
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    let json: unknown;
    try {
      json = bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : undefined;
    } catch {
      json = undefined;
    }
    const answer = { status: response.status, headers: response.headers, body: bytes, json };
    if (response.status < 400 || init.acceptAny) return answer;
    throw platformFailure(answer);
  }

  /** Opens a streaming GET (logs). */
  async stream(route: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    let response: Response;
    try {
      response = await fetch(`${this.url}${route}`, { headers, signal });
    } catch (error) {
      throw new CliError(`cannot reach the platform at ${this.url}: ${(error as Error).message}`, EXIT.unreachable, 'start it with `npm run up`, or point --gateway (or FAAS_GATEWAY) at it');
    }
    if (response.status >= 400) {
      const bytes = Buffer.from(await response.arrayBuffer());
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString('utf8'));
      } catch {
        json = undefined;
      }
      throw platformFailure({ status: response.status, headers: response.headers, body: bytes, json });
    }
    return response;
  }
}

/** A refusal or failure of the platform's as a CliError with the exit code for its kind. */
export function platformFailure(answer: Answer): CliError {
  const error = answer.json as { code?: string; message?: string } | undefined;
  const code = typeof error?.code === 'string' ? error.code : `HTTP ${answer.status}`;
  const message = typeof error?.message === 'string' ? error.message : answer.body.toString('utf8').slice(0, 500);
  if (answer.status === 401 || answer.status === 403) return new CliError(`${code}: ${message}`, EXIT.unauthorized, 'pass --token (or set FAAS_TOKEN) with a token the platform accepts');
  if (answer.status === 404) return new CliError(`${code}: ${message}`, EXIT.notFound, code === 'function_not_found' ? 'see the deployed functions with `faas list`' : undefined);
  return new CliError(`${code}: ${message}`, EXIT.failed);
}
