// `docker compose up` for real: the platform exactly as compose.yaml runs it,
// built from the one Dockerfile by a Docker engine of the test's own
// (scripts/test-compose.sh starts it and makes the base images), and used
// the way a developer would, through the ports it publishes on loopback.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, InvocationKind, createClient } from '@faas/protocol';
import { REPO_ROOT, freePort, isPortOpen, rememberAdminToken } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';
import { hostLeftovers } from '../support/leftovers.js';

const run = promisify(execFile);

// The funclet id and state folder compose.yaml gives the funclet.
const FUNCLET_ID = 'funclet-1';
const FUNCLET_STATE_DIR = '/var/lib/faas/funclet';
// scripts/test-compose.sh names the project and its files in Compose's own
// variables (COMPOSE_PROJECT_NAME, COMPOSE_FILE), which every command reads.
const PROJECT = process.env.COMPOSE_PROJECT_NAME ?? '';
const TOKEN = 'compose-test-token';
const ADMIN_TOKEN = 'compose-test-admin-token-0123456789abcdef';
const logFile = path.join(REPO_ROOT, '.run', 'compose-test', 'compose.log');

// "docker compose" where the CLI has Compose v2, else Debian's docker-compose.
const [composeCommand, ...composePrefix] = (process.env.FAAS_COMPOSE ?? 'docker-compose').split(' ');

let httpUrl = '';
let grpcAddress = '';
let composeEnv: NodeJS.ProcessEnv = {};

/** Runs a compose command; its output goes to the log, and ends the error when it fails. */
async function compose(...args: string[]): Promise<string> {
  return command(composeCommand!, [...composePrefix, ...args]);
}

async function command(file: string, args: string[]): Promise<string> {
  appendFileSync(logFile, `\n$ ${file} ${args.join(' ')}\n`);
  try {
    const { stdout, stderr } = await run(file, args, { env: composeEnv, cwd: REPO_ROOT, maxBuffer: 256 * 1024 * 1024 });
    appendFileSync(logFile, stderr + stdout);
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    appendFileSync(logFile, stderr + stdout);
    throw new Error(`${file} ${args.join(' ')} failed (whole output in ${logFile}):\n${(stderr + stdout).slice(-3000)}`, { cause: error });
  }
}

/**
 * The engine adds no NAT, but the host forwards packets (ip_forward), so a
 * container's DNS query for a name compose does not know (the funclet's,
 * while it restarts) would leave the machine with its private address.
 * Forwarding off on the compose network's bridge drops whatever a container
 * sends beyond the host; the host and the containers still reach each other.
 */
async function keepTrafficOnThisMachine(): Promise<void> {
  const ids = (await command('docker', ['network', 'ls', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.ID}}'])).trim().split('\n');
  expect(ids).toHaveLength(1);
  const forwarding = `/proc/sys/net/ipv4/conf/br-${ids[0]}/forwarding`;
  writeFileSync(forwarding, '0');
  expect(readFileSync(forwarding, 'utf8').trim()).toBe('0');
}

/** The host's own port when it is free, else any free one: a developer's `npm run up` may hold it. */
async function loopbackAddress(preferred: number): Promise<string> {
  const port = (await isPortOpen(preferred)) ? await freePort() : preferred;
  return `127.0.0.1:${port}`;
}

interface RuncContainer {
  readonly id: string;
  readonly status: string;
  readonly created: string;
}

/** The sandboxes runc knows inside the funclet's container. */
async function sandboxes(): Promise<RuncContainer[]> {
  const out = await compose('exec', '-T', 'funclet', 'runc', '--root', '/run/faas/runc', 'list', '--format', 'json');
  return (JSON.parse(out.trim() || 'null') as RuncContainer[] | null) ?? [];
}

/** The sandboxes' cgroups, read on the host, where compose.yaml has the funclet make them. */
function hostCgroups(): Set<string> {
  return new Set(hostLeftovers(FUNCLET_ID, FUNCLET_STATE_DIR, '/nonexistent').cgroups.map((dir) => path.basename(dir)));
}

/**
 * Waits until every sandbox cgroup on the host belongs to a running sandbox
 * of the funclet started at `since`: then nothing of an earlier one is left.
 */
async function onlySandboxesSince(since: Date): Promise<RuncContainer[]> {
  return eventually(async () => {
    const cgroups = hostCgroups();
    const live = await sandboxes();
    const current = live.every((c) => c.status === 'running' && new Date(c.created) >= since);
    const sameSets = cgroups.size === live.length && live.every((c) => cgroups.has(c.id));
    return current && sameSets && live.length > 0 ? live : undefined;
  }, 60_000, `only sandboxes created since ${since.toISOString()}, each with its cgroup`);
}

async function uploadAndDeploy(name: string, files: Record<string, string>): Promise<void> {
  const upload = await http(`${httpUrl}/v1/code`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: zipBundle(files) });
  expect(upload.status, upload.text).toBeLessThan(300);
  const deployed = await http(`${httpUrl}/v1/functions/${name}`, {
    method: 'PUT',
    json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, memoryMb: 128, timeoutSeconds: 10 },
  });
  expect(deployed.status, deployed.text).toBe(201);
}

const invoke = (name: string, event: unknown, headers: Record<string, string> = {}) =>
  http(`${httpUrl}/v1/functions/${name}/invocations`, { method: 'POST', json: event, headers });

/** A sync call, repeated until the platform answers it: right after a start the funclet may not have registered yet. */
const servedCall = async (event: unknown) => {
  let last = '';
  try {
    return await eventually(async () => {
      const answer = await invoke('greeter', event);
      last = `${answer.status} ${answer.text.slice(0, 300)}`;
      return answer.status === 200 ? answer : undefined;
    }, 90_000, 'a served call of greeter');
  } catch (error) {
    // What the services said, for whoever reads .run/compose-test/compose.log.
    await compose('logs', '--no-color', '--tail', '150').catch(() => undefined);
    throw new Error(`${(error as Error).message}; the last answer: ${last}`, { cause: error });
  }
};

const GREETER = `
export const handler = async (event, context) => {
  console.log('greeting ' + event.name + ' in ' + context.callId);
  return { greeting: 'hello ' + event.name, callId: context.callId };
};
`;

beforeAll(async () => {
  expect(PROJECT, 'run it with npm run test:compose').not.toBe('');
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(logFile, '');
  const httpAddress = await loopbackAddress(8080);
  grpcAddress = await loopbackAddress(50051);
  httpUrl = `http://${httpAddress}`;
  composeEnv = { ...process.env, FAAS_HTTP_ADDRESS: httpAddress, FAAS_GRPC_ADDRESS: grpcAddress, FAAS_INTERNAL_TOKEN: TOKEN, FAAS_ADMIN_TOKEN: ADMIN_TOKEN };
  // test/support's http() sends it to this edge, as it does for platforms the launcher starts.
  rememberAdminToken(httpUrl, ADMIN_TOKEN);
  // What an interrupted run may have left in the engine's data root.
  await compose('down', '-v', '--remove-orphans');
  const buildStarted = Date.now();
  await compose('up', '--build', '--no-start');
  console.log(`compose up --build --no-start: ${((Date.now() - buildStarted) / 1000).toFixed(0)} s`);
  await keepTrafficOnThisMachine();
  await compose('up', '-d');
  // Until httptrigger listens, docker-proxy accepts and then resets each
  // connection; a fetch caught in that was once left never settling (Node
  // 20), so each attempt is bounded.
  const edgeAnswers = async () => (await http(`${httpUrl}/v1/functions`, { signal: AbortSignal.timeout(10_000) })).status === 200;
  await eventually(async () => ((await edgeAnswers()) ? true : undefined), 120_000, `the HTTP edge on ${httpUrl}`);
});

afterAll(async () => {
  // A failed test still takes the platform down; the last test checks it.
  await compose('down', '-v', '--remove-orphans').catch(() => undefined);
});

describe('docker compose up', () => {
  it('runs NATS, Redis and the five services, the funclet unprivileged', async () => {
    const running = (await compose('ps', '--services', '--filter', 'status=running')).trim().split('\n').sort();
    expect(running).toEqual(['controller', 'funclet', 'httptrigger', 'nats', 'queue-worker', 'redis', 'stubs']);
    const funclet = (await compose('ps', '-q', 'funclet')).trim();
    const [inspected] = JSON.parse(await command('docker', ['inspect', funclet])) as { HostConfig: { Privileged: boolean } }[];
    expect(inspected!.HostConfig.Privileged).toBe(false);
  });

  it('uploads, deploys and answers a synchronous call from a sandbox in the funclet container', async () => {
    await uploadAndDeploy('greeter', { 'index.js': GREETER, 'package.json': '{"type":"module"}' });
    const answer = await servedCall({ name: 'compose' });
    expect(answer.json).toEqual({ greeting: 'hello compose', callId: answer.headers.get('x-call-id') });
    expect((await sandboxes()).length).toBeGreaterThan(0);
  });

  it('runs an asynchronous call through NATS JetStream and the queue-worker', async () => {
    const accepted = await invoke('greeter', { name: 'async' }, { 'x-invocation-type': 'Event' });
    expect(accepted.status, accepted.text).toBe(202);
    const callId = accepted.headers.get('x-call-id')!;
    const call = await eventually(async () => {
      const record = await http(`${httpUrl}/v1/calls/${callId}`);
      return record.json?.status === 'succeeded' || record.json?.status === 'failed' ? record.json : undefined;
    }, 60_000, `async call ${callId}`);
    expect(call).toMatchObject({ status: 'succeeded', result: { greeting: 'hello async', callId } });
  });

  it('keeps what the handler printed, per call, in the function\'s logs', async () => {
    const answer = await servedCall({ name: 'logged' });
    const callId = answer.headers.get('x-call-id')!;
    const line = await eventually(async () => {
      const logs = await http(`${httpUrl}/v1/functions/greeter/logs?tail=100`);
      return logs.text
        .split('\n')
        .filter(Boolean)
        .map((text) => JSON.parse(text) as { callId: string; line: string; stream: string })
        .find((entry) => entry.callId === callId);
    }, 30_000, `the log line of ${callId}`);
    expect(line).toMatchObject({ stream: 'stdout', line: `greeting logged in ${callId}` });
  });

  it('answers faas.v1.Controller/Invoke on the published gRPC port, with the internal token only', async () => {
    const payload = new TextEncoder().encode(JSON.stringify({ name: 'grpc' }));
    const invocation = { functionName: 'greeter', callId: 'compose-grpc-1', kind: InvocationKind.EVENT, payload, contentType: 'application/json' };
    const controller = createClient(Controller, grpcAddress, { token: TOKEN, defaultTimeoutMs: 30_000 });
    const stranger = createClient(Controller, grpcAddress, { defaultTimeoutMs: 30_000 });
    try {
      const response = await controller.invoke({ invocation });
      expect(JSON.parse(new TextDecoder().decode(response.result?.result))).toEqual({ greeting: 'hello grpc', callId: 'compose-grpc-1' });
      await expect(stranger.invoke({ invocation: { ...invocation, callId: 'compose-grpc-2' } })).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      controller.close();
      stranger.close();
    }
  });

  it('serves calls again after `restart funclet`, with nothing left of the sandboxes before', async () => {
    const restartedAt = new Date();
    await compose('restart', 'funclet');
    const answer = await servedCall({ name: 'restarted' });
    expect(answer.json.greeting).toBe('hello restarted');
    await onlySandboxesSince(restartedAt);
  });

  it('cleans up the orphans of a funclet killed with SIGKILL when it starts again', async () => {
    const before = (await sandboxes()).map((c) => c.id);
    expect(before.length).toBeGreaterThan(0);
    await compose('kill', '-s', 'SIGKILL', 'funclet');
    // Killed, it cleaned nothing: its sandboxes' cgroups are still on the host.
    expect([...hostCgroups()]).toEqual(expect.arrayContaining(before));

    const startedAt = new Date();
    await compose('start', 'funclet');
    const answer = await servedCall({ name: 'reborn' });
    expect(answer.json.greeting).toBe('hello reborn');
    await onlySandboxesSince(startedAt);

    const funclet = (await compose('ps', '-q', 'funclet')).trim();
    const logLines = (await command('docker', ['logs', '--since', startedAt.toISOString(), funclet])).split('\n');
    const removed = logLines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; containers?: string[] })
      .find((entry) => entry.msg === 'removed orphaned sandboxes');
    expect(removed?.containers).toEqual(expect.arrayContaining(before));
  });

  it('`down -v` leaves no container, network, volume or sandbox cgroup behind', async () => {
    await compose('down', '-v', '--remove-orphans');
    const label = `label=com.docker.compose.project=${PROJECT}`;
    const left = async (...args: string[]) => (await command('docker', [...args, '--filter', label, '--quiet'])).trim();
    expect(await left('ps', '--all')).toBe('');
    expect(await left('network', 'ls')).toBe('');
    expect(await left('volume', 'ls')).toBe('');
    // The funclet, stopped by compose, removed its sandboxes from the host.
    expect(hostCgroups().size).toBe(0);
  });
});
