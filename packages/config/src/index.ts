export { ConfigError, loadEnvOrExit, optional, parse, readEnv, required, type ConfigOf, type Schema } from './env.js';
