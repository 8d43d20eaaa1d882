// wrk, the HTTP load generator from Debian, run as a child process and its
// report read back as numbers: requests, req/s, latency percentiles, errors.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Installs Debian's wrk when it is missing (the bench runs as root, like the platform). */
export function ensureWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return;
  } catch (error) {
    // wrk --version exits 1 after printing its version; only ENOENT means missing.
    if (error.code !== 'ENOENT') return;
  }
  console.error('installing wrk (Debian package)');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

const scriptDir = mkdtempSync(path.join(tmpdir(), 'faas-wrk-'));
let scripts = 0;

/** A wrk Lua script that sends `method` with `body` (and a content type) on every request. */
function requestScript({ method, body, contentType }) {
  const file = path.join(scriptDir, `request-${++scripts}.lua`);
  const lines = [`wrk.method = ${JSON.stringify(method)}`];
  if (body !== undefined) lines.push(`wrk.body = ${JSON.stringify(body)}`, `wrk.headers["Content-Type"] = ${JSON.stringify(contentType ?? 'application/json')}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text) {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2]] : NaN;
}

/** The numbers of one wrk report. */
export function parseWrkReport(report) {
  const percentile = (p) => {
    const match = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(report);
    return match ? durationMs(match[1]) : NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(report)?.[1] ?? NaN);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(report);
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(report)?.[1] ?? NaN),
    p50: percentile(50),
    p99: percentile(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(report)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/**
 * One wrk run against `url` with `connections` connections for `seconds`.
 * Threads: one per connection up to two (the machine has two cores).
 */
export function runWrk(url, { connections, seconds, method = 'GET', body, contentType }) {
  const args = ['-c', String(connections), '-t', String(Math.min(2, connections)), '-d', `${seconds}s`, '--latency', '--timeout', '10s'];
  if (method !== 'GET' || body !== undefined) args.push('-s', requestScript({ method, body, contentType }));
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const report = parseWrkReport(output);
      if (code !== 0 || !Number.isFinite(report.requests)) reject(new Error(`wrk failed (${code}): ${output.slice(0, 500)}`));
      else resolve(report);
    });
  });
}
