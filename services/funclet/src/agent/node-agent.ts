/**
 * The Node-based runtime agent: PID 1 of every nodejs, exec, http and custom
 * sandbox, chosen by `--mode=` (default nodejs). It listens on a unix socket
 * in the bind-mounted /run/faas before it knows its function, which is what
 * lets a pool of sandboxes boot ahead of demand; LOAD then says which
 * function it serves. Node builtins only: this folder is all the sandbox sees
 * of the platform (mounted read-only at /opt/faas).
 */
import { serveAgent, type AgentRuntime } from './agent-server.js';
import { createCustomRuntime } from './custom-runtime.js';
import { createExecRuntime } from './exec-runtime.js';
import { createHttpRuntime } from './http-runtime.js';
import { createNodeRuntime } from './node-runtime.js';

const SOCKET_PATH = process.env.FAAS_AGENT_SOCKET || '/run/faas/agent.sock';

const MODES: Record<string, () => AgentRuntime> = {
  nodejs: createNodeRuntime,
  exec: createExecRuntime,
  http: createHttpRuntime,
  custom: createCustomRuntime,
};

const modeArgument = process.argv.slice(2).find((arg) => arg.startsWith('--mode='));
const mode = modeArgument ? modeArgument.slice('--mode='.length) : 'nodejs';
const createRuntime = MODES[mode];
if (!createRuntime) {
  process.stderr.write(`unknown agent mode ${JSON.stringify(mode)} (${Object.keys(MODES).join(', ')})\n`);
  process.exit(2);
}

// The funclet may die and close our stdout pipe; logging must not kill the runtime.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const agent = serveAgent(createRuntime(), SOCKET_PATH);
process.on('uncaughtException', (error) => agent.reportUncaught(error));
process.on('unhandledRejection', (error) => agent.reportUncaught(error));
