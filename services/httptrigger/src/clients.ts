import { Controller, QueueWorker, Stubs, createClient } from '@faas/protocol';

export interface ClientAddresses {
  readonly controller: string;
  readonly stubs: string;
  readonly queueWorker: string;
  readonly token?: string;
}

export function createClients(addresses: ClientAddresses) {
  const token = addresses.token || undefined;
  return {
    controller: createClient(Controller, addresses.controller, { token, peerName: 'controller' }),
    stubs: createClient(Stubs, addresses.stubs, { token, peerName: 'stubs' }),
    queueWorker: createClient(QueueWorker, addresses.queueWorker, { token, peerName: 'queue-worker' }),
  };
}

export type Clients = ReturnType<typeof createClients>;
