import { optional, parse } from '@faas/config';
import type { DataPath } from './invoker.js';

/**
 * What every service that runs invocations through an Invoker reads
 * (httptrigger, queue-worker): where the controller is, and which data path
 * the calls take.
 */
export const invokerVariables = {
  CONTROLLER_ADDRESS: optional(['127.0.0.1:50051'], parse.addressList, 'host:port of the controller, or a comma-separated list of its replicas (placement, and the calls it relays)'),
  FAAS_DATA_PATH: optional<DataPath>(
    'direct',
    parse.oneOf('direct', 'controller'),
    "direct: warm calls go straight to the leased sandbox's funclet; controller: every call goes through the controller, which relays it",
  ),
};
