import { mkdirSync } from 'node:fs';
import { ManagedProcess } from './managed-process.js';
import { waitForPort } from './ports.js';

/** `nats-server` with JetStream, on loopback (or `host`), storing under `dataDir`. */
export async function startNats(port: number, dataDir: string, onLine?: (line: string) => void, host = '127.0.0.1'): Promise<ManagedProcess> {
  mkdirSync(dataDir, { recursive: true });
  const nats = new ManagedProcess({
    name: 'nats-server',
    command: 'nats-server',
    args: ['-js', '-sd', dataDir, '-a', host, '-p', String(port)],
    onLine,
  });
  await Promise.race([waitForPort(port, 15_000, 'nats-server', host), failOnExit(nats)]);
  return nats;
}

/**
 * `redis-server` on loopback, working in `dir`: without persistence, or with
 * `durable` an append-only file there, fsynced every second (a power cut
 * loses at most the last second; a killed Redis loses nothing it answered).
 */
export async function startRedis(port: number, dir: string, onLine?: (line: string) => void, options: { durable?: boolean } = {}): Promise<ManagedProcess> {
  mkdirSync(dir, { recursive: true });
  const persistence = options.durable ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const redis = new ManagedProcess({
    name: 'redis-server',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir],
    onLine,
  });
  await Promise.race([waitForPort(port, 15_000, 'redis-server'), failOnExit(redis)]);
  return redis;
}

async function failOnExit(process: ManagedProcess): Promise<never> {
  const { code, signal } = await process.exited;
  throw new Error(`${process.name} exited (code ${code}, signal ${signal}); its output:\n${process.output}`);
}
