import { PlatformError } from '@faas/errors';
import { QueueWorker, type ServiceImpl } from '@faas/protocol';
import type { CallStore } from './call-store.js';

type QueueWorkerMethods = typeof QueueWorker extends { method: infer M } ? M : never;

/** gRPC handlers of faas.v1.QueueWorker: translate, read the store, nothing else. */
export function queueWorkerService(store: Pick<CallStore, 'get'>) {
  return {
    async getCall(request) {
      if (!request.callId) throw new PlatformError('bad_request', 'call_id is required');
      const call = await store.get(request.callId);
      if (!call) throw new PlatformError('call_not_found', `no call "${request.callId}" (it may have expired)`);
      return { call };
    },
  } satisfies ServiceImpl<QueueWorkerMethods>;
}
