import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './managed-process.js';

export const SERVICE_NAMES = ['stubs', 'controller', 'funclet', 'queue-worker', 'httptrigger'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The repository root (packages/launcher/dist → ../../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface RunningService {
  readonly process: ManagedProcess;
  /** host:port the service bound, from its `listening` log line. */
  readonly address: string;
  /** host:port of its Prometheus metrics port, from its `metrics listening` line (started before `listening`); undefined when off. */
  readonly metricsAddress?: string;
}

/**
 * Starts one compiled service as its own Node process, with OpenTelemetry
 * loaded first, and waits for the `listening` line that carries the port it
 * actually bound.
 */
export interface StartOptions {
  readonly readyTimeoutMs?: number;
  /** Wraps the node command, e.g. to run it inside a network namespace. */
  readonly wrap?: (command: string, args: string[]) => { command: string; args: string[] };
  /** The name its output and errors go by (a replica's, say "controller-2"). */
  readonly label?: string;
}

export async function startService(name: ServiceName, env: NodeJS.ProcessEnv, onLine?: (line: string) => void, options: StartOptions = {}): Promise<RunningService> {
  const { readyTimeoutMs = 30_000, wrap = (command, args) => ({ command, args }), label = name } = options;
  // FAAS_NODE_FLAGS adds node flags that NODE_OPTIONS refuses (e.g. --cpu-prof).
  const launch = wrap(process.execPath, [...nodeFlags(env.FAAS_NODE_FLAGS), '--import', '@faas/telemetry/register', path.join(REPO_ROOT, 'services', name, 'dist', 'main.js')]);
  const service = new ManagedProcess({
    name: label,
    command: launch.command,
    args: launch.args,
    cwd: path.join(REPO_ROOT, 'services', name),
    // Each service names itself in traces unless told otherwise. Many
    // services (platforms, replicas, tests) share a host: each metrics port is
    // a free one unless given, named in the service's log line.
    env: { OTEL_SERVICE_NAME: name, METRICS_LISTEN: '127.0.0.1:0', ...process.env, ...env },
    onLine,
  });
  let metricsAddress: string | undefined;
  const address = await service.waitForLine((line) => {
    metricsAddress ??= listeningAddress(line, 'metrics listening');
    return listeningAddress(line);
  }, readyTimeoutMs);
  return { process: service, address, metricsAddress };
}

function nodeFlags(flags: string | undefined): string[] {
  return flags?.trim() ? flags.trim().split(/\s+/) : [];
}

function listeningAddress(line: string, message = 'listening'): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: string; address?: string };
    return entry.msg === message && entry.address ? entry.address : undefined;
  } catch {
    return undefined;
  }
}
