// The NATS client packages are dependencies of the services, not of the
// repository root, so the tests load them from a service's own folder.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '@faas/launcher';

type TransportNode = typeof import('../../services/queue-worker/node_modules/@nats-io/transport-node/lib/mod.js');
type JetStream = typeof import('../../services/queue-worker/node_modules/@nats-io/jetstream/lib/mod.js');

const requireFromService = createRequire(path.join(REPO_ROOT, 'services', 'queue-worker', 'package.json'));

export async function loadNats(): Promise<{ transport: TransportNode; jetstream: JetStream }> {
  const transport = (await import(pathToFileURL(requireFromService.resolve('@nats-io/transport-node')).href)) as TransportNode;
  const jetstream = (await import(pathToFileURL(requireFromService.resolve('@nats-io/jetstream')).href)) as JetStream;
  return { transport, jetstream };
}
