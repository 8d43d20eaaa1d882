export { ManagedProcess, type ManagedProcessOptions } from './managed-process.js';
export { freePort, isPortOpen, waitForPort } from './ports.js';
export { startNats, startRedis } from './infrastructure.js';
export { ClusterNode, SENTINEL_MASTER_NAME, startClusterInfrastructure, startNatsCluster, startRedisSentinel, type ClusterInfrastructure, type NatsCluster, type RedisSentinelSet } from './cluster-infrastructure.js';
export { REPO_ROOT, SERVICE_NAMES, startService, type RunningService, type ServiceName, type StartOptions } from './services.js';
export { adminTokenFor, ensureCredentials, rememberAdminToken, type PlatformCredentials } from './credentials.js';
export { startPlatform, type FuncletHost, type Platform, type PlatformOptions } from './platform.js';
export { canMakeHostNetwork, createHostNetwork, type HostNetwork, type NamespaceHost } from './host-network.js';
export { SERVICE_CERTIFICATE_NAME, ensureServiceCertificates, type ServiceCertificates } from './service-certificates.js';
