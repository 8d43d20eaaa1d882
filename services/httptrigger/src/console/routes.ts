/**
 * The web console at /ui: static files (ui/, copied to dist/ui at build
 * with the chart and zip libraries), read once at start and served from
 * memory. The page calls the public API with the token the user pastes
 * (`Authorization: Bearer`). Every /ui route is registered in the one scope
 * below, so a preHandler added to it (auth) covers them all.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@faas/errors';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

interface ConsoleFile {
  readonly body: Buffer;
  readonly type: string;
}

/** Every file under `dir` by its path under /ui/. */
function readConsoleFiles(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const full = path.join(folder, entry);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(path.relative(dir, full).split(path.sep).join('/'), { body: readFileSync(full), type: CONTENT_TYPES[path.extname(entry)] ?? 'application/octet-stream' });
    }
  };
  walk(dir);
  return files;
}

export function consoleRoutes(app: FastifyInstance, dir: string = CONSOLE_DIR): void {
  let files: Map<string, ConsoleFile>;
  try {
    files = readConsoleFiles(dir);
  } catch {
    // Not built (a test that runs the sources): /ui answers 503 rather than the edge not starting.
    files = new Map();
  }
  void app.register(async (scope) => {
    // Issue 12's auth: scope.addHook('preHandler', …) here covers every /ui route.
    const serve = (name: string) => {
      const file = files.get(name);
      if (!file) {
        if (files.size === 0) throw new PlatformError('service_unavailable', 'the web console is not built (npm run build)');
        throw new PlatformError('route_not_found', `no console file ${name}`);
      }
      return file;
    };
    scope.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
    scope.get('/ui/', async (_request, reply) => {
      const file = serve('index.html');
      return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
    });
    scope.get<{ Params: { '*': string } }>('/ui/*', async (request, reply) => {
      const file = serve(request.params['*']);
      return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
    });
  });
}
