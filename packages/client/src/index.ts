export { Invoker, FUNCLET_ANSWER_GRACE_MS, type DataPath, type InvokeOptions, type InvokerOptions } from './invoker.js';
export { FuncletLink, type FuncletLinkEvents, type SandboxCallInit } from './funclet-link.js';
export { FuncletLinks, type FuncletLinkTimeouts } from './funclet-links.js';
export { ControllerLink, type ControllerLinkEvents, type PlacementCallInit } from './controller-link.js';
export { LeaseTable, type HeldLease, type LeaseTableOptions } from './lease-table.js';
export { PendingCalls, type CallTracking } from './pending-calls.js';
export { PeerGoneError, StreamLink, MAX_WAITING_ITEMS, type Duplex, type StreamLinkOptions } from './stream-link.js';
export { cancellationOf, type Cancellation } from './cancellation.js';
export { invokerVariables } from './variables.js';
