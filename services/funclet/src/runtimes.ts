/**
 * The runtimes this funclet can run, and how a sandbox boots each one's
 * generic agent. A booted agent serves no function until LOAD tells it which,
 * which is what lets a pool of sandboxes start before anyone asks.
 */
import { SANDBOX_AGENT_DIR } from './sandbox/oci-spec.js';

export interface RuntimeHostPaths {
  /** The node binary, at a path sandboxes see (under a bound system dir). */
  readonly nodePath: string;
}

export interface RuntimeDefinition {
  readonly name: string;
  /** The command a sandbox of this runtime starts, as seen inside it. */
  agentArgs(paths: RuntimeHostPaths): readonly string[];
}

const RUNTIMES: readonly RuntimeDefinition[] = [
  {
    name: 'nodejs',
    agentArgs: ({ nodePath }) => [nodePath, `${SANDBOX_AGENT_DIR}/node-agent.js`],
  },
];

export const SUPPORTED_RUNTIMES: readonly string[] = RUNTIMES.map((runtime) => runtime.name);

export function runtimeNamed(name: string): RuntimeDefinition | undefined {
  return RUNTIMES.find((runtime) => runtime.name === name);
}
