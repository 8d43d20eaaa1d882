import { QueueWorker, Stubs, Tokens, createClient } from '@faas/protocol';

export interface ClientAddresses {
  readonly stubs: string;
  readonly queueWorker: string;
  readonly token?: string;
}

/** The control-path clients; invocations go through the Invoker (@faas/client). */
export function createClients(addresses: ClientAddresses) {
  const token = addresses.token || undefined;
  return {
    stubs: createClient(Stubs, addresses.stubs, { token, peerName: 'stubs' }),
    tokens: createClient(Tokens, addresses.stubs, { token, peerName: 'stubs' }),
    queueWorker: createClient(QueueWorker, addresses.queueWorker, { token, peerName: 'queue-worker' }),
  };
}

export type Clients = ReturnType<typeof createClients>;
