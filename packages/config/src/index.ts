export { ConfigError, loadEnvOrExit, optional, optionalPerHost, parse, readEnv, readVariableFileOrExit, required, type ConfigOf, type Schema, type VariableSpec } from './env.js';
export { LOG_LEVELS, metricsSwitch, metricsVariables, natsVariables, platformVariables, redisVariables, streamVariables } from './shared-variables.js';
export { platformVariableProblems } from './shared-checks.js';
