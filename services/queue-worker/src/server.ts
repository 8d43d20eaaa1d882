import { PlatformError } from '@faas/errors';
import { CALL_ID, FUNCTION_NAME, QueueWorker, type ServiceImpl } from '@faas/protocol';
import type { CallStore } from './call-store.js';
import type { DeadLetterStore } from './dead-letters.js';
import { LIST_LIMIT } from './call-store.js';

type QueueWorkerMethods = typeof QueueWorker extends { method: infer M } ? M : never;

export interface QueueWorkerDomain {
  readonly store: Pick<CallStore, 'get' | 'list'>;
  readonly deadLetters: Pick<DeadLetterStore, 'list'>;
  readonly replay: (callId: string) => ReturnType<CallStore['get']>;
}

/** gRPC handlers of faas.v1.QueueWorker: check, translate, call the domain, nothing else. */
export function queueWorkerService({ store, deadLetters, replay }: QueueWorkerDomain) {
  return {
    async getCall(request) {
      assertCallId(request.callId);
      const call = await store.get(request.callId);
      if (!call) throw new PlatformError('call_not_found', `no call "${request.callId}" (it may have expired)`);
      return { call };
    },

    async listCalls(request) {
      assertOptionalFunction(request.functionName);
      return { calls: await store.list({ functionName: request.functionName || undefined, status: request.status, limit: limitOf(request.limit) }) };
    },

    async listDeadLetters(request) {
      assertOptionalFunction(request.functionName);
      return { deadLetters: await deadLetters.list(request.functionName || undefined, limitOf(request.limit)) };
    },

    async replayDeadLetter(request) {
      assertCallId(request.callId);
      return { call: await replay(request.callId) };
    },
  } satisfies ServiceImpl<QueueWorkerMethods>;
}

function assertCallId(callId: string): void {
  if (!CALL_ID.test(callId)) throw new PlatformError('bad_request', 'call_id must match ^[A-Za-z0-9_.:-]{1,128}$');
}

function assertOptionalFunction(name: string): void {
  if (name && !FUNCTION_NAME.test(name)) throw new PlatformError('invalid_function_name', `function name ${JSON.stringify(name.slice(0, 80))} is not valid`);
}

function limitOf(limit: number): number {
  if (limit > LIST_LIMIT.max) throw new PlatformError('bad_request', `limit must be at most ${LIST_LIMIT.max}`);
  return limit || LIST_LIMIT.default;
}
