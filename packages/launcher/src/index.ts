export { ManagedProcess, type ManagedProcessOptions } from './managed-process.js';
export { freePort, isPortOpen, waitForPort } from './ports.js';
export { startNats, startRedis } from './infrastructure.js';
export { REPO_ROOT, SERVICE_NAMES, startService, type RunningService, type ServiceName } from './services.js';
export { startPlatform, type Platform, type PlatformOptions } from './platform.js';
