#!/usr/bin/env node
/**
 * `faas`: the platform's own command line. Human output by default,
 * `--json` for scripts; exit codes in gateway.ts (EXIT) say what failed.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { deployFolder, deployStack, type FunctionSpec } from './deploy.js';
import { CliError, EXIT, Gateway, platformFailure, type GatewayOptions } from './gateway.js';
import { outputFor, table, type Output } from './output.js';

interface GlobalOptions extends GatewayOptions {
  readonly json?: boolean;
}

const program = new Command('faas')
  .description('Deploy, invoke and manage functions on the faas engine (also OpenFaaS stack.yml files).')
  .option('-g, --gateway <url>', 'the platform\'s HTTP address (default: $FAAS_GATEWAY or http://127.0.0.1:8080)')
  .option('--token <token>', 'bearer token (default: $FAAS_TOKEN, or the admin token file of `npm run up`)')
  .option('--json', 'print results as JSON, for scripts')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
const gateway = (stackGateway?: string) => new Gateway({ ...globals(), gateway: globals().gateway ?? (process.env.FAAS_GATEWAY ? undefined : stackGateway) });
const output = (): Output => outputFor(globals().json === true);
const enc = encodeURIComponent;
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `K=V` pairs as a map; a pair without "=" is a usage error. */
function pairs(values: string[] | undefined, what: string): Record<string, string> | undefined {
  if (!values) return undefined;
  return Object.fromEntries(
    values.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new CliError(`${what} ${JSON.stringify(pair)} is not NAME=VALUE`, EXIT.usage);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

const integer = (what: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new CliError(`${what} must be a whole number (got ${JSON.stringify(value)})`, EXIT.usage);
  return Number(value);
};

program
  .command('deploy')
  .description('deploy a function folder, or every function of an OpenFaaS stack file (-f stack.yml)')
  .argument('[dir]', 'the function\'s folder (its faas.json may give name, runtime, handler, …)')
  .option('-f, --file <stack.yml>', 'an OpenFaaS stack file: node18/node20/node22, python3 and python3-http handler folders run unchanged')
  .option('--filter <name>', 'with -f: deploy only this function')
  .option('--name <name>', 'function name (default: the folder\'s name)')
  .option('--runtime <runtime>', 'nodejs, python3, exec, http or custom:<name>')
  .option('--handler <handler>', 'e.g. index.handler (nodejs), main.handler (python3), ./run.sh (exec)')
  .option('--memory <mb>', 'memory in MiB', integer('--memory'))
  .option('--timeout <seconds>', 'timeout in seconds', integer('--timeout'))
  .option('-e, --env <NAME=VALUE>', 'environment variable (repeatable)', collect)
  .option('--secret <name>', 'secret to mount at /var/openfaas/secrets/<name> (repeatable)', collect)
  .action(async (dir: string | undefined, options: { file?: string; filter?: string; name?: string; runtime?: string; handler?: string; memory?: number; timeout?: number; env?: string[]; secret?: string[] }) => {
    const out = output();
    if (options.file) {
      if (dir) throw new CliError('give a folder or -f stack.yml, not both', EXIT.usage);
      const deployed = await deployStack(gateway, out, options.file, options.filter);
      return out.result(deployed, () => deployed.map((fn) => `${fn.name}  ${fn.digest}  revision ${fn.version}`).join('\n'));
    }
    if (!dir) throw new CliError('nothing to deploy', EXIT.usage, 'give a folder (faas deploy ./hello --runtime nodejs --handler index.handler) or -f stack.yml');
    const flags: Partial<FunctionSpec> = {
      name: options.name,
      runtime: options.runtime,
      handler: options.handler,
      memoryMb: options.memory,
      timeoutSeconds: options.timeout,
      environment: pairs(options.env, '--env'),
      secrets: options.secret,
    };
    const deployed = await deployFolder(gateway(), out, dir, flags);
    out.result(deployed, () => `${deployed.name}  ${deployed.digest}  revision ${deployed.version}`);
  });

program
  .command('invoke')
  .description('call a function with an event (or as an HTTP request with --http) and print its answer')
  .argument('<name>', 'function, optionally name:version or name:alias')
  .option('-d, --data <text>', 'the event or body (default: standard input when it is not a terminal)')
  .option('--file <path>', 'read the event or body from a file')
  .option('--async', 'queue the call and print its call id')
  .option('--http', 'call /function/<name> as an HTTP request instead of an event')
  .option('--content-type <type>', 'the body\'s content type', 'application/json')
  .action(async (name: string, options: { data?: string; file?: string; async?: boolean; http?: boolean; contentType: string }) => {
    const out = output();
    if (options.data !== undefined && options.file !== undefined) throw new CliError('give --data or --file, not both', EXIT.usage);
    const body = options.file !== undefined ? readFileSync(options.file) : options.data !== undefined ? Buffer.from(options.data) : process.stdin.isTTY ? Buffer.alloc(0) : readFileSync(0);
    const route = options.http ? `/${options.async ? 'async-function' : 'function'}/${enc(name)}` : `/v1/functions/${enc(name)}/invocations`;
    const headers: Record<string, string> = { 'content-type': options.contentType };
    if (options.async && !options.http) headers['x-invocation-type'] = 'Event';
    // Over HTTP the function's own answer may be any status; a platform refusal is {code, message} without X-Function-Error.
    const answer = await gateway().request('POST', route, { body, headers, acceptAny: true });
    const platformShaped = typeof (answer.json as { code?: unknown } | undefined)?.code === 'string';
    if (answer.status >= 400 && (!options.http || (platformShaped && !answer.headers.get('x-function-error')))) throw platformFailure(answer);
    if (options.async) {
      const callId = (answer.json as { callId: string }).callId;
      return out.result({ callId }, () => `queued: ${callId} (see it with \`faas calls get ${callId}\`)`);
    }
    const functionError = answer.headers.get('x-function-error');
    if (out.json) out.result({ status: answer.status, callId: answer.headers.get('x-call-id'), functionError, body: answer.json ?? answer.body.toString('utf8') }, () => '');
    else process.stdout.write(answer.body.toString('utf8') + (answer.body.length > 0 && !answer.body.toString('utf8').endsWith('\n') ? '\n' : ''));
    if (functionError) {
      process.exitCode = EXIT.functionError;
      if (!out.json) process.stderr.write(`the function failed: ${functionError}\n`);
    }
  });

program
  .command('logs')
  .description('print a function\'s log lines (newest last)')
  .argument('<name>')
  .option('-f, --follow', 'keep printing new lines until Ctrl-C')
  .option('--tail <lines>', 'how many of the newest stored lines', '100')
  .action(async (name: string, options: { follow?: boolean; tail: string }) => {
    const out = output();
    const stopped = new AbortController();
    process.once('SIGINT', () => stopped.abort());
    const response = await gateway().stream(`/v1/functions/${enc(name)}/logs?tail=${enc(options.tail)}&follow=${options.follow ? 'true' : 'false'}`, stopped.signal);
    let rest = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        rest += Buffer.from(chunk).toString('utf8');
        const lines = rest.split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines.filter(Boolean)) {
          const entry = JSON.parse(line) as { time: string; callId: string; stream: string; line: string };
          process.stdout.write(out.json ? `${line}\n` : `${entry.time} ${entry.callId} ${entry.stream === 'stderr' ? '!' : ' '} ${entry.line}\n`);
        }
      }
    } catch (error) {
      if (!stopped.signal.aborted) throw error;
    }
  });

program
  .command('list')
  .alias('ls')
  .description('list the deployed functions')
  .action(async () => {
    const { functions } = (await gateway().request('GET', '/v1/functions')).json as { functions: { name: string; runtime: string; handler: string; memoryMb: number; version: number; updatedAt: string }[] };
    output().result(functions, () =>
      functions.length === 0 ? 'no functions yet (deploy one with `faas deploy`)' : table(['NAME', 'RUNTIME', 'HANDLER', 'MEMORY', 'REVISION', 'UPDATED'], functions.map((fn) => [fn.name, fn.runtime, fn.handler, `${fn.memoryMb} MiB`, String(fn.version), fn.updatedAt ?? ''])),
    );
  });

program
  .command('describe')
  .description('show one function\'s configuration')
  .argument('<name>', 'function, optionally name:version or name:alias')
  .action(async (target: string) => {
    const [name, qualifier] = target.split(':', 2) as [string, string | undefined];
    const fn = (await gateway().request('GET', `/v1/functions/${enc(name)}${qualifier ? `?qualifier=${enc(qualifier)}` : ''}`)).json as Record<string, unknown>;
    output().result(fn, () => Object.entries(fn).map(([key, value]) => `${key.padEnd(22)}${typeof value === 'object' ? JSON.stringify(value) : String(value)}`).join('\n'));
  });

program
  .command('rm')
  .description('delete a function with its versions and aliases')
  .argument('<name>')
  .action(async (name: string) => {
    await gateway().request('DELETE', `/v1/functions/${enc(name)}`);
    output().result({ deleted: name }, () => `deleted ${name}`);
  });

const calls = program.command('calls').description('queued (async) calls');
calls
  .command('get')
  .description('show a queued call: its status, result or error, attempts')
  .argument('<callId>')
  .action(async (callId: string) => {
    const call = (await gateway().request('GET', `/v1/calls/${enc(callId)}`)).json as Record<string, unknown>;
    output().result(call, () => Object.entries(call).map(([key, value]) => `${key.padEnd(16)}${typeof value === 'object' ? JSON.stringify(value) : String(value)}`).join('\n'));
  });

const secrets = program.command('secrets').description('secrets, mounted at /var/openfaas/secrets/<name> in the functions that list them');
secrets
  .command('list')
  .description('list secret names (values are never shown)')
  .action(async () => {
    const { secrets: list } = (await gateway().request('GET', '/v1/secrets')).json as { secrets: { name: string }[] };
    output().result(list, () => (list.length === 0 ? 'no secrets' : list.map((secret) => secret.name).join('\n')));
  });
secrets
  .command('set')
  .description('create or replace a secret (value from --value, --from-file, or standard input)')
  .argument('<name>')
  .option('--value <text>')
  .option('--from-file <path>')
  .action(async (name: string, options: { value?: string; fromFile?: string }) => {
    if (options.value !== undefined && options.fromFile !== undefined) throw new CliError('give --value or --from-file, not both', EXIT.usage);
    const value = options.fromFile !== undefined ? readFileSync(options.fromFile) : options.value !== undefined ? Buffer.from(options.value) : process.stdin.isTTY ? undefined : readFileSync(0);
    if (value === undefined) throw new CliError('no value', EXIT.usage, 'pass --value, --from-file, or pipe it in');
    const answer = await gateway().request('PUT', `/v1/secrets/${enc(name)}`, { json: { valueBase64: value.toString('base64') } });
    output().result({ name, created: answer.status === 201 }, () => `${answer.status === 201 ? 'created' : 'updated'} ${name}`);
  });
secrets
  .command('rm')
  .description('delete a secret')
  .argument('<name>')
  .action(async (name: string) => {
    await gateway().request('DELETE', `/v1/secrets/${enc(name)}`);
    output().result({ deleted: name }, () => `deleted ${name}`);
  });

const versionsCommand = program.command('versions').description('published versions of a function');
versionsCommand
  .command('list', { isDefault: true })
  .argument('<name>')
  .action(async (name: string) => {
    const { versions } = (await gateway().request('GET', `/v1/functions/${enc(name)}/versions`)).json as { versions: { qualifier: string; version: number; code: { digest: string }; createdAt: string }[] };
    output().result(versions, () => (versions.length === 0 ? `${name} has no published versions (publish with \`faas versions publish ${name}\`)` : table(['VERSION', 'REVISION', 'CODE', 'PUBLISHED'], versions.map((v) => [v.qualifier, String(v.version), v.code.digest, v.createdAt ?? '']))));
  });
versionsCommand
  .command('publish')
  .description('publish $LATEST as the next immutable version')
  .argument('<name>')
  .action(async (name: string) => {
    const answer = await gateway().request('POST', `/v1/functions/${enc(name)}/versions`);
    const version = answer.json as { qualifier: string };
    output().result(version, () => `${answer.status === 201 ? 'published' : 'unchanged since'} ${name}:${version.qualifier}`);
  });
versionsCommand
  .command('rm')
  .argument('<name>')
  .argument('<version>')
  .action(async (name: string, version: string) => {
    await gateway().request('DELETE', `/v1/functions/${enc(name)}/versions/${enc(version)}`);
    output().result({ deleted: `${name}:${version}` }, () => `deleted ${name}:${version}`);
  });

const aliasesCommand = program.command('aliases').description('names for published versions, optionally splitting calls between two');
aliasesCommand
  .command('list', { isDefault: true })
  .argument('<name>')
  .action(async (name: string) => {
    const { aliases } = (await gateway().request('GET', `/v1/functions/${enc(name)}/aliases`)).json as { aliases: { name: string; functionVersion: string; routingConfig: { additionalVersionWeights: Record<string, number> } }[] };
    output().result(aliases, () => (aliases.length === 0 ? `${name} has no aliases` : table(['ALIAS', 'VERSION', 'SPLIT'], aliases.map((a) => [a.name, a.functionVersion, Object.entries(a.routingConfig.additionalVersionWeights).map(([v, w]) => `${w} → ${v}`).join(', ')]))));
  });
aliasesCommand
  .command('set')
  .description('point an alias at a version (--split 2=0.1 sends a tenth of its calls to version 2)')
  .argument('<name>')
  .argument('<alias>')
  .argument('<version>')
  .option('--split <VERSION=WEIGHT>')
  .action(async (name: string, alias: string, version: string, options: { split?: string }) => {
    const split = pairs(options.split ? [options.split] : undefined, '--split');
    const weights = Object.fromEntries(Object.entries(split ?? {}).map(([v, w]) => [v, Number(w)]));
    const saved = (await gateway().request('PUT', `/v1/functions/${enc(name)}/aliases/${enc(alias)}`, { json: { functionVersion: version, routingConfig: { additionalVersionWeights: weights } } })).json;
    output().result(saved, () => `${name}:${alias} → ${version}${options.split ? ` (${options.split})` : ''}`);
  });
aliasesCommand
  .command('rm')
  .argument('<name>')
  .argument('<alias>')
  .action(async (name: string, alias: string) => {
    await gateway().request('DELETE', `/v1/functions/${enc(name)}/aliases/${enc(alias)}`);
    output().result({ deleted: `${name}:${alias}` }, () => `deleted ${name}:${alias}`);
  });

const triggersCommand = program.command('triggers').description('NATS subjects and schedules bound to functions');
triggersCommand
  .command('list', { isDefault: true })
  .action(async () => {
    const { triggers } = (await gateway().request('GET', '/v1/triggers')).json as { triggers: { name: string; type: string; function: string; subject?: string; schedule?: string }[] };
    output().result(triggers, () => (triggers.length === 0 ? 'no triggers' : table(['NAME', 'TYPE', 'FUNCTION', 'SOURCE'], triggers.map((t) => [t.name, t.type, t.function, t.subject ?? t.schedule ?? '']))));
  });
triggersCommand
  .command('set')
  .description('create or replace a trigger from its JSON definition (see the README)')
  .argument('<name>')
  .requiredOption('--from-file <path>', 'the trigger as JSON, e.g. {"type": "nats", "subject": "orders.*", "function": "f"}')
  .action(async (name: string, options: { fromFile: string }) => {
    let definition: unknown;
    try {
      definition = JSON.parse(readFileSync(options.fromFile, 'utf8'));
    } catch (error) {
      throw new CliError(`${options.fromFile}: ${(error as Error).message}`, EXIT.usage);
    }
    const saved = (await gateway().request('PUT', `/v1/triggers/${enc(name)}`, { json: definition })).json;
    output().result(saved, () => `saved trigger ${name}`);
  });
triggersCommand
  .command('rm')
  .argument('<name>')
  .action(async (name: string) => {
    await gateway().request('DELETE', `/v1/triggers/${enc(name)}`);
    output().result({ deleted: name }, () => `deleted trigger ${name}`);
  });

// Subcommands report usage errors through the program's override too.
for (const command of program.commands) {
  command.exitOverride();
  for (const sub of command.commands) sub.exitOverride();
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not failures; everything else commander raises is usage.
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof CliError) {
    process.stderr.write(`faas: ${error.message}\n${error.hint ? `  → ${error.hint}\n` : ''}`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`faas: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.failed;
  }
}

