export { ConfigError, loadEnvOrExit, optional, parse, readEnv, required, type ConfigOf, type Schema, type VariableSpec } from './env.js';
