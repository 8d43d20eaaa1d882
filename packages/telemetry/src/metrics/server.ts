import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { PROMETHEUS_CONTENT_TYPE, type MetricRegistry } from './registry.js';

/**
 * A service's own metrics port: `GET /metrics` and nothing else, apart from
 * the service's API so a scrape never queues behind calls. `listen` is
 * host:port; an empty string turns it off.
 */
export async function serveMetrics(registry: MetricRegistry, listen: string, logger: Logger): Promise<http.Server | undefined> {
  if (!listen) return undefined;
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(colon + 1));
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"route_not_found","message":"only GET /metrics is served here"}');
      return;
    }
    registry.render().then(
      (text) => response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot serve metrics on ${listen} (METRICS_LISTEN): ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`, { cause: error })),
    );
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const bound = server.address() as AddressInfo;
  logger.info({ address: `${host}:${bound.port}` }, 'metrics listening');
  return server;
}
