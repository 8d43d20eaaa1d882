// The concurrency book's Lua scripts against a real redis-server, held to
// the same answers as the in-memory book the placement tests use, and run
// from several connections at once as several controllers would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freePort, startRedis, type ManagedProcess } from '@faas/launcher';
import { RedisConcurrencyBook, type ConcurrencyBook } from './concurrency-book.js';
import { MemoryConcurrencyBook } from './memory-concurrency-book.js';

let workDir: string;
let server: ManagedProcess;
let port: number;
const connections: Redis[] = [];

function redisBook(clock: () => number, ttlMs = 10_000): RedisConcurrencyBook {
  const redis = new Redis(port, '127.0.0.1');
  connections.push(redis);
  return new RedisConcurrencyBook(redis, (name) => `book-test:${name}`, ttlMs, clock);
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'faas-book-test-'));
  port = await freePort();
  server = await startRedis(port, path.join(workDir, 'redis'));
});

afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  await server?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('RedisConcurrencyBook', () => {
  it('answers as the in-memory book does, step by step', async () => {
    const clock = { ms: 1_000_000 };
    const books: ConcurrencyBook[] = [redisBook(() => clock.ms), new MemoryConcurrencyBook(10_000, () => clock.ms)];
    const run = async (book: ConcurrencyBook) => {
      const fn = `same-${books.indexOf(book)}`;
      const steps: unknown[] = [];
      const a = await book.reserve(fn, 5, 3);
      const b = await book.reserve(fn, 5, 3);
      const c = await book.reserve(fn, 5, 1);
      steps.push([a.slots, a.heldBefore], [b.slots, b.heldBefore], [c.slots, c.heldBefore], await book.held(fn));
      await book.release(fn, a.id, a.slots);
      steps.push(await book.held(fn));
      // b lapses unless kept; kept, it stays; then one past its TTL is taken again while the limit allows.
      steps.push([...(await book.keep([{ functionName: fn, id: b.id, slots: b.slots, maxConcurrency: 5 }]))]);
      return steps;
    };
    const [fromRedis, fromMemory] = [await run(books[0]!), await run(books[1]!)];
    expect(fromRedis).toEqual([[3, 0], [2, 3], [0, 5], 5, 2, []]);
    expect(fromRedis).toEqual(fromMemory);
  });

  it('lets reservations nobody keeps lapse, and takes a lapsed one back only within the limit', async () => {
    const clock = { ms: 2_000_000 };
    const book = redisBook(() => clock.ms, 5_000);
    const old = await book.reserve('lapse', 2, 2);
    clock.ms += 6_000;
    expect(await book.held('lapse')).toBe(0);
    const newer = await book.reserve('lapse', 2, 1);
    expect(newer.slots).toBe(1);
    // Only one of the two lapsed slots fits beside the newer reservation: the old one is lost whole.
    expect([...(await book.keep([{ functionName: 'lapse', id: old.id, slots: old.slots, maxConcurrency: 2 }]))]).toEqual([old.id]);
    expect(await book.held('lapse')).toBe(1);
  });

  it('never grants more than the limit to several controllers reserving at once', async () => {
    const books = Array.from({ length: 4 }, () => redisBook(Date.now));
    const grants = await Promise.all(books.flatMap((book) => Array.from({ length: 50 }, () => book.reserve('storm', 37, 2))));
    expect(grants.reduce((sum, grant) => sum + grant.slots, 0)).toBe(37);
    expect(await books[0]!.held('storm')).toBe(37);
  });
});
