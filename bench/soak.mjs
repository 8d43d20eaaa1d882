// `npm run bench:soak`: mixed load on the whole platform (sync calls from a
// few connections, a steady trickle of async calls) for a while — 10
// minutes by default — printing each service's resident memory (RSS, from
// /proc) once a minute, so a leak shows as a line that keeps growing.
//   node bench/soak.mjs [--minutes 10] [--every-seconds 60] [--connections 4] [--async-per-second 20]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_NAMES, startPlatform } from '@faas/launcher';
import { closeClient, deployFunction, handlerBundle, send, uploadCode } from './support.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'every-seconds': { type: 'string', default: '60' },
    connections: { type: 'string', default: '4' },
    'async-per-second': { type: 'string', default: '20' },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const everyMs = Number(values['every-seconds']) * 1000;
const connections = Number(values.connections);
const asyncPerSecond = Number(values['async-per-second']);
if (![durationMs, everyMs, connections, asyncPerSecond].every((n) => Number.isFinite(n) && n > 0)) {
  console.error('usage: node bench/soak.mjs [--minutes 10] [--every-seconds 60] [--connections 4] [--async-per-second 20] (all positive numbers)');
  process.exit(2);
}

/** Resident memory of a process, in MiB, from /proc (0 when it is gone). */
function rssMiB(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
    return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

const platform = await startPlatform({ env: { FUNCLET_POOL_SIZE: '1' } });
const counts = { sync: 0, syncFailed: 0, async: 0, asyncRefused: 0 };
let running = true;
try {
  const digest = await uploadCode(platform.httpUrl, handlerBundle('soak'));
  await deployFunction(platform.httpUrl, 'soak', digest, { maxConcurrency: connections * 2 });
  const url = `${platform.httpUrl}/v1/functions/soak/invocations`;

  const syncLoop = async () => {
    while (running) {
      const answer = await send(url, { method: 'POST', body: { n: 1 } }).catch(() => ({ status: 0 }));
      if (answer.status === 200) counts.sync++;
      else counts.syncFailed++;
    }
  };
  const asyncLoop = async () => {
    while (running) {
      const answer = await send(url, { method: 'POST', body: { n: 2 }, headers: { 'x-invocation-type': 'Event' } }).catch(() => ({ status: 0 }));
      if (answer.status === 202) counts.async++;
      else counts.asyncRefused++;
      await sleep(1000 / asyncPerSecond);
    }
  };
  const loops = [...Array.from({ length: connections }, syncLoop), asyncLoop()];

  const names = SERVICE_NAMES.flatMap((name) => platform.replicas(name).map((_, i) => (i === 0 ? name : `${name}-${i + 1}`)));
  console.log(['minute', ...names, 'sync ok', 'sync failed', 'async accepted', 'async refused'].join('\t'));
  const started = Date.now();
  const sample = () => {
    const rss = SERVICE_NAMES.flatMap((name) => platform.replicas(name).map((service) => `${rssMiB(service.process.pid)} MiB`));
    console.log([((Date.now() - started) / 60_000).toFixed(1), ...rss, counts.sync, counts.syncFailed, counts.async, counts.asyncRefused].join('\t'));
  };
  sample();
  while (Date.now() - started < durationMs) {
    await sleep(Math.min(everyMs, durationMs - (Date.now() - started)));
    sample();
  }
  running = false;
  await Promise.all(loops);
} finally {
  running = false;
  closeClient();
  await platform.stop();
}
