/**
 * Starting a sandbox's container: the OCI bundle written, `runc run`, the
 * container's own output forwarded to the funclet's log, and the connection
 * to the runtime agent once it listens. Undone completely when any step
 * fails.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '@faas/errors';
import type { Logger } from '@faas/telemetry';
import { AgentClient } from './agent-client.js';
import type { SandboxLimits } from './limits.js';
import type { NetworkNamespace } from './netns-pool.js';
import { buildSandboxSpec } from './oci-spec.js';
import { forEachLine } from './output-lines.js';
import type { Runc } from './runc.js';

/** How long the agent may take to listen after runc started it. */
const AGENT_READY_TIMEOUT_MS = 5000;
/** Output lines of a container that failed to start, quoted in the error. */
const RECENT_LINES = 5;

export interface SandboxSetup {
  readonly id: string;
  readonly runtime: string;
  /** The runtime agent's command, as seen inside the sandbox. */
  readonly agentArgs: readonly string[];
  /** Host directory for this sandbox's OCI bundle, in the sandboxes tmpfs (created here, removed on destroy). */
  readonly bundleDir: string;
  readonly cgroupsPath: string;
  readonly agentDir: string;
  /** The sandbox's own /etc (staging.ts). */
  readonly etcDir: string;
  /** PID 1 ahead of the agent (see oci-spec.ts). */
  readonly init: string;
  readonly hostSystemDirs: readonly string[];
  /** The named network namespace the container joins. */
  readonly netns: NetworkNamespace;
  /** Limits at boot (a pool sandbox's small defaults, or the function's own). */
  readonly limits: SandboxLimits;
  /** Give it a mount point at /opt/runtime for a custom runtime's bundle. */
  readonly runtimeBundle?: boolean;
}

export interface StartDeps {
  readonly runc: Runc;
  readonly log: Logger;
  /** Gives the network namespace back when the start fails. */
  readonly releaseNetns: (netns: NetworkNamespace) => void;
}

export interface StartedSandbox {
  readonly pid: number;
  readonly agent: AgentClient;
}

/** The host folder whose bind into the container appears at /var/task once the code is mounted on it. */
export const codeMountPoint = (setup: Pick<SandboxSetup, 'bundleDir'>): string => join(setup.bundleDir, 'code');
/** The same for /opt/runtime and a custom runtime's bundle. */
export const runtimeMountPoint = (setup: Pick<SandboxSetup, 'bundleDir'>): string => join(setup.bundleDir, 'runtime');
/** The same for /var/openfaas/secrets and the function's secret files. */
export const secretsMountPoint = (setup: Pick<SandboxSetup, 'bundleDir'>): string => join(setup.bundleDir, 'secrets');

/**
 * Writes the bundle, runs the container and connects to its agent.
 * `functionName` names the function in the container's log lines, once it has one.
 */
export async function startContainer(setup: SandboxSetup, deps: StartDeps, functionName: () => string | undefined): Promise<StartedSandbox> {
  const { id, bundleDir } = setup;
  const runDir = join(bundleDir, 'run');
  await mkdir(join(bundleDir, 'rootfs'), { recursive: true, mode: 0o755 });
  await mkdir(codeMountPoint(setup), { mode: 0o755 });
  if (setup.runtimeBundle) await mkdir(runtimeMountPoint(setup), { mode: 0o755 });
  await mkdir(secretsMountPoint(setup), { mode: 0o755 });
  await mkdir(runDir, { recursive: true });
  // The agent runs as nobody and must create its socket here.
  await chmod(runDir, 0o777);
  const spec = buildSandboxSpec({
    hostSystemDirs: setup.hostSystemDirs,
    etcDir: setup.etcDir,
    init: setup.init,
    codeDir: codeMountPoint(setup),
    codePropagates: true,
    agentDir: setup.agentDir,
    runDir,
    args: setup.agentArgs,
    limits: setup.limits,
    cgroupsPath: setup.cgroupsPath,
    netnsPath: setup.netns.path,
    runtimeMountPoint: setup.runtimeBundle ? runtimeMountPoint(setup) : undefined,
    secretsMountPoint: secretsMountPoint(setup),
  });
  await writeFile(join(bundleDir, 'config.json'), JSON.stringify(spec));

  const recentOutput: string[] = [];
  try {
    const container = await deps.runc.run(id, bundleDir, join(bundleDir, 'container.pid'));
    for (const [stream, readable] of [['stdout', container.stdout], ['stderr', container.stderr]] as const) {
      forEachLine(readable, (line) => {
        recentOutput.push(line);
        if (recentOutput.length > RECENT_LINES) recentOutput.shift();
        deps.log.info({ sandbox: id, function: functionName(), stream, line }, 'sandbox output');
      });
    }
    const agent = await AgentClient.connectWhenReady(join(runDir, 'agent.sock'), AGENT_READY_TIMEOUT_MS, () => isAlive(container.pid));
    // The socket exists: lock the directory, a host directory with no size limit, before any function code runs.
    await chmod(runDir, 0o755);
    return { pid: container.pid, agent };
  } catch (error) {
    await deps.runc.forceDelete(id).catch(() => {});
    await rm(bundleDir, { recursive: true, force: true });
    deps.releaseNetns(setup.netns);
    if (error instanceof PlatformError) throw error;
    const output = recentOutput.length > 0 ? `; last output: ${recentOutput.join(' | ')}` : '';
    throw new PlatformError('sandbox_failed', `sandbox ${id} did not start: ${(error as Error).message}${output}`, { cause: error });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
