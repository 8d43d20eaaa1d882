/**
 * The Node-based runtime agent: PID 1 of every nodejs, exec, http and custom
 * sandbox, chosen by `--mode=` (default nodejs). It listens on a unix socket
 * in the bind-mounted /run/faas before it knows its function, which is what
 * lets a pool of sandboxes boot ahead of demand; LOAD then says which
 * function it serves. Node builtins only: this folder is all the sandbox sees
 * of the platform (mounted read-only at /opt/faas).
 */
import { serveAgent, type AgentRuntime } from './agent-server.js';

const SOCKET_PATH = process.env.FAAS_AGENT_SOCKET || '/run/faas/agent.sock';

// Each mode's module is imported only by the agents that run it: every
// module (and node:http, node:child_process behind some) is boot time.
const MODES: Record<string, () => Promise<() => AgentRuntime>> = {
  nodejs: async () => (await import('./node-runtime.js')).createNodeRuntime,
  exec: async () => (await import('./exec-runtime.js')).createExecRuntime,
  http: async () => (await import('./http-runtime.js')).createHttpRuntime,
  custom: async () => (await import('./custom-runtime.js')).createCustomRuntime,
};

const modeArgument = process.argv.slice(2).find((arg) => arg.startsWith('--mode='));
const mode = modeArgument ? modeArgument.slice('--mode='.length) : 'nodejs';
const loadMode = MODES[mode];
if (!loadMode) {
  process.stderr.write(`unknown agent mode ${JSON.stringify(mode)} (${Object.keys(MODES).join(', ')})\n`);
  process.exit(2);
}

// The funclet may die and close our stdout pipe; logging must not kill the runtime.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const runtime = (await loadMode!())();
// Before listening: the host takes a listening agent as ready, so a warm-up here is boot time, not the function's LOAD.
await runtime.warmUp?.();
const agent = serveAgent(runtime, SOCKET_PATH);
process.on('uncaughtException', (error) => agent.reportUncaught(error));
process.on('unhandledRejection', (error) => agent.reportUncaught(error));
