/**
 * The runtimes this funclet can run, and how a sandbox boots each one's
 * generic agent. A booted agent serves no function until LOAD tells it which,
 * which is what lets a pool of sandboxes start before anyone asks.
 */
import { CUSTOM_RUNTIME, runtimeFamily } from '@faas/protocol';
import { SANDBOX_AGENT_DIR } from './sandbox/oci-spec.js';

export interface RuntimeHostPaths {
  /** The node binary, at a path sandboxes see (under a bound system dir). */
  readonly nodePath: string;
  /** The python3 binary sandboxes run; Debian's, never a user's pyenv shim. */
  readonly pythonPath?: string;
}

export interface RuntimeDefinition {
  readonly name: string;
  /** The command a sandbox of this runtime starts, as seen inside it. */
  agentArgs(paths: RuntimeHostPaths): readonly string[];
  /**
   * Its sandboxes have a mount point at /opt/runtime, where a custom
   * runtime's bundle appears when the sandbox is specialised (as the code
   * does at /var/task), so they can wait in the pool like the others.
   */
  readonly runtimeBundle?: boolean;
}

export const DEFAULT_PYTHON_PATH = '/usr/bin/python3';
/** PID 1 of every sandbox (Debian's tini): see oci-spec.ts. */
export const SANDBOX_INIT_PATH = '/usr/bin/tini';

const nodeAgent = (mode: string) => (paths: RuntimeHostPaths) => [paths.nodePath, `${SANDBOX_AGENT_DIR}/node-agent.js`, `--mode=${mode}`];

const RUNTIMES: readonly RuntimeDefinition[] = [
  { name: 'nodejs', agentArgs: nodeAgent('nodejs') },
  {
    name: 'python3',
    agentArgs: ({ pythonPath }) => [pythonPath ?? DEFAULT_PYTHON_PATH, `${SANDBOX_AGENT_DIR}/python_agent.py`],
  },
  { name: 'exec', agentArgs: nodeAgent('exec') },
  { name: 'http', agentArgs: nodeAgent('http') },
  // Every "custom:<name>" function runs this, with its runtime's bundle at /opt/runtime.
  { name: CUSTOM_RUNTIME, runtimeBundle: true, agentArgs: nodeAgent('custom') },
];

/** What the funclet announces to the controller ("custom" stands for every custom:<name>). */
export const SUPPORTED_RUNTIMES: readonly string[] = RUNTIMES.map((runtime) => runtime.name);

/** The definition that runs functions of `name` ("custom:<x>" → the custom runtime). */
export function runtimeNamed(name: string): RuntimeDefinition | undefined {
  const family = runtimeFamily(name);
  return RUNTIMES.find((runtime) => runtime.name === family);
}
