import type { NatsConnection, Status } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@faas/telemetry';
import { connectNats } from './nats-link.js';

const silent = createLogger('nats-test', 'silent');

/** A connection whose status events the test sends. */
function fakeConnection() {
  const pending: Status[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const calls: string[] = [];
  const connection = {
    async *status() {
      while (!ended) {
        if (pending.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        while (pending.length > 0) yield pending.shift()!;
      }
    },
    async drain() {
      calls.push('drain');
      ended = true;
      wake?.();
    },
    async close() {
      calls.push('close');
      ended = true;
      wake?.();
    },
  } as unknown as NatsConnection;
  const send = async (status: Status) => {
    pending.push(status);
    wake?.();
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { connection, send, calls };
}

describe('connectNats', () => {
  it('counts as connected only between a connect (prepared) and a disconnect', async () => {
    const fake = fakeConnection();
    const prepared: string[] = [];
    const link = connectNats({
      servers: ['nats://127.0.0.1:4222'],
      name: 'test',
      logger: silent,
      connect: async () => fake.connection,
      onConnect: async () => {
        prepared.push(link.connected ? 'while connected' : 'before connected');
      },
    });
    expect(link.connected).toBe(false);
    expect(await link.ready).toBe(fake.connection);
    expect(link.connection).toBe(fake.connection);

    await fake.send({ type: 'disconnect', server: 'a' });
    expect(link.connected).toBe(false);
    expect(link.connection).toBeUndefined();
    await fake.send({ type: 'reconnect', server: 'a' });
    expect(link.connected).toBe(true);
    expect(prepared).toEqual(['before connected', 'before connected']);

    await link.close();
    expect(link.connected).toBe(false);
    expect(fake.calls).toEqual(['drain']);
  });

  it('still counts as connected when preparing fails, since NATS itself is up', async () => {
    const fake = fakeConnection();
    const link = connectNats({ servers: ['nats://x:1'], name: 'test', logger: silent, connect: async () => fake.connection, onConnect: () => Promise.reject(new Error('no stream')) });
    await link.ready;
    expect(link.connected).toBe(true);
    await link.close();
  });

  it('closes a connection that arrives after the link was closed', async () => {
    const fake = fakeConnection();
    let arrive!: (connection: NatsConnection) => void;
    const link = connectNats({ servers: ['nats://x:1'], name: 'test', logger: silent, connect: () => new Promise((resolve) => (arrive = resolve)) });
    await link.close();
    arrive(fake.connection);
    await expect(link.ready).rejects.toThrow('closed before it connected');
    expect(fake.calls).toEqual(['close']);
    expect(link.connected).toBe(false);
  });

  it('rejects ready when connecting fails for good, without an unhandled rejection', async () => {
    const link = connectNats({ servers: ['nats://x:1'], name: 'test', logger: silent, connect: () => Promise.reject(new Error('bad url')) });
    await expect(link.ready).rejects.toThrow('bad url');
    expect(link.connected).toBe(false);
  });
});
