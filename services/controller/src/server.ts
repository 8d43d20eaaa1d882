import { addService, Controller, type grpc, type ServeOptions } from '@faas/protocol';
import { PlatformError } from '@faas/errors';
import type { FuncletMembership } from './funclet-membership.js';
import type { InvocationRunner } from './invocation-runner.js';
import type { Scheduler } from './scheduler.js';

export interface ControllerDomain {
  readonly runner: InvocationRunner;
  readonly membership: FuncletMembership;
  readonly scheduler: Scheduler;
  readonly heartbeatIntervalMs: number;
}

const FUNCLET_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const HOST_PORT = /^(?:[^\s:]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/;

export function addControllerService(server: grpc.Server, domain: ControllerDomain, options: ServeOptions): void {
  addService(
    server,
    Controller,
    {
      async invoke(request, context) {
        const result = await domain.runner.run(request.invocation, {
          deadlineMs: Date.now() + context.remainingMs(),
          signal: context.signal,
        });
        return { result };
      },

      async registerFunclet(request) {
        if (!FUNCLET_ID.test(request.funcletId)) throw new PlatformError('bad_request', 'funclet_id must be 1-128 characters of A-Z, a-z, 0-9, "_", "." and "-"');
        if (!HOST_PORT.test(request.address)) throw new PlatformError('bad_request', 'address must be host:port');
        if (!request.bootId) throw new PlatformError('bad_request', 'boot_id is required');
        const funclet = await domain.membership.register({
          id: request.funcletId,
          address: request.address,
          bootId: request.bootId,
          memoryMbTotal: request.memoryMbTotal,
          memoryMbUsed: request.memoryMbUsed,
          runtimes: [...request.runtimes],
        });
        domain.scheduler.noteFunclet(funclet);
        return { heartbeatIntervalMs: domain.heartbeatIntervalMs };
      },
    },
    options,
  );
}
