import { startPlatform } from '@faas/launcher';
import { deployFunction, handlerBundle, invokeFunction, uploadCode, sleep } from '/work/main/bench/support.mjs';
const ready = [];
const platform = await startPlatform({ onLine: (src, line) => { if (src === 'funclet' && line.includes('sandbox ready')) { try { ready.push(JSON.parse(line)); } catch {} } } });
const digest = await uploadCode(platform.httpUrl, handlerBundle('c'));
const times = [];
for (let i = 0; i < 15; i++) {
  await deployFunction(platform.httpUrl, `c${i}`, digest, { memoryMb: 64 });
  await sleep(300);
  const a = await invokeFunction(platform.httpUrl, `c${i}`, { i });
  times.push(a.ms);
}
times.sort((a, b) => a - b);
console.log('p50', times[7].toFixed(1), 'all', times.map((t) => t.toFixed(1)).join(' '));
const r = ready.filter((x) => x.fromPool).map((x) => x.readyMs).sort((a, b) => a - b);
console.log('funclet readyMs p50', r[Math.floor(r.length / 2)]);
await platform.stop();
