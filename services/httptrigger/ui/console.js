// The web console: plain browser JavaScript over the public HTTP API (the
// same routes curl uses), with uPlot for the charts and fflate to zip a
// dropped folder. Every request carries the pasted token as
// `Authorization: Bearer`, so the console works unchanged when auth is on.
/* global uPlot, fflate */

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'faas.token';
const POLL_MS = 3_000;

let selected;
let charts;
let logStream;

// ---- the API ----------------------------------------------------------

function withToken(headers = {}) {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { ...headers, authorization: `Bearer ${token}` } : headers;
}

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: withToken(init.headers) });
  if (response.status === 401 || response.status === 403) setStatus('the API refused the token: paste a valid one above', true);
  return response;
}

async function apiJson(path, init) {
  const response = await api(path, init);
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(body?.message ?? `${path} answered ${response.status}`);
  return body;
}

function setStatus(text, failed = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', failed);
}

/** Runs `work`, showing its failure in the status line instead of losing it. */
async function guarded(work) {
  try {
    return await work();
  } catch (error) {
    setStatus(error.message, true);
    return undefined;
  }
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) tr.append(cell instanceof Node ? wrap(cell) : element('td', cell ?? ''));
  return tr;
}

function wrap(node) {
  const td = document.createElement('td');
  td.append(node);
  return td;
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');

// ---- functions ------------------------------------------------------------

async function refreshFunctions() {
  const body = await guarded(() => apiJson('/v1/functions'));
  if (!body) return;
  const list = $('functions');
  list.replaceChildren(
    ...body.functions.map((fn) => {
      const item = element('li');
      item.dataset.name = fn.name;
      item.append(element('span', fn.name), element('span', `${fn.runtime} · ${fn.memoryMb} MB`, 'meta'));
      item.classList.toggle('selected', fn.name === selected);
      item.addEventListener('click', () => select(fn.name));
      return item;
    }),
  );
  if (body.functions.length === 0) list.append(element('li', 'no functions yet: deploy one below', 'meta'));
}

async function select(name) {
  selected = name;
  stopFollowing();
  $('function-panel').hidden = false;
  $('function-title').textContent = name;
  $('invoke-result').textContent = '';
  $('invoke-logs').textContent = '';
  $('invoke-duration').textContent = '';
  $('live-logs').textContent = '';
  for (const item of $('functions').children) item.classList.toggle('selected', item.dataset.name === name);
  createCharts();
  await Promise.all([refreshDetails(), refreshLive()]);
}

async function refreshDetails() {
  const name = selected;
  const [versions, aliases] = await Promise.all([
    guarded(() => apiJson(`/v1/functions/${name}/versions`)),
    guarded(() => apiJson(`/v1/functions/${name}/aliases`)),
  ]);
  if (name !== selected) return;
  $('versions').replaceChildren(element('li', '$LATEST'), ...(versions?.versions ?? []).map((v) => element('li', `version ${v.qualifier} · ${time(v.createdAt)}`)));
  $('aliases').replaceChildren(...(aliases?.aliases ?? []).map((a) => element('li', `${a.name} → ${a.functionVersion}`)));
  if ((aliases?.aliases ?? []).length === 0) $('aliases').append(element('li', 'none', 'meta'));
}

/** What changes call by call: sandboxes, history, charts, async calls, dead letters. */
async function refreshLive() {
  const name = selected;
  if (!name) return;
  const [sandboxes, history, stats, calls, dead] = await Promise.all([
    guarded(() => apiJson(`/v1/functions/${name}/sandboxes`)),
    guarded(() => apiJson(`/v1/functions/${name}/history?limit=20`)),
    guarded(() => apiJson(`/v1/functions/${name}/stats`)),
    guarded(() => apiJson(`/v1/calls?function=${encodeURIComponent(name)}&limit=20`)),
    guarded(() => apiJson(`/v1/dead-letters?function=${encodeURIComponent(name)}&limit=20`)),
  ]);
  if (name !== selected) return;
  if (sandboxes) {
    $('sandboxes').replaceChildren(...sandboxes.sandboxes.map((s) => element('li', `${s.sandboxId} · ${s.state} (${s.inFlight}/${s.slots})`)));
    if (sandboxes.sandboxes.length === 0) $('sandboxes').append(element('li', 'none warm', 'meta'));
  }
  if (history) {
    $('history').tBodies[0].replaceChildren(
      ...history.calls.map((call) => row([element('span', call.callId, 'mono'), new Date(call.startedAtMs).toLocaleTimeString(), call.durationMs.toFixed(1), call.kind, call.outcome, call.kind === 'async' ? '' : call.coldStart ? 'cold' : 'warm', call.sandboxId])),
    );
  }
  if (stats) updateCharts(stats.points);
  if (calls) {
    $('async-calls').tBodies[0].replaceChildren(...calls.calls.map((call) => row([element('span', call.callId, 'mono'), call.status, call.attempts, time(call.queuedAt)])));
  }
  if (dead) {
    $('dead-letters').tBodies[0].replaceChildren(
      ...dead.deadLetters.map((letter) => {
        const last = letter.attemptErrors.at(-1)?.error ?? {};
        const replay = element('button', 'replay');
        replay.type = 'button';
        replay.dataset.callId = letter.callId;
        replay.addEventListener('click', () => replayDeadLetter(letter.callId, replay));
        return row([element('span', letter.callId, 'mono'), time(letter.deadLetteredAt), last.errorMessage ?? last.message ?? (last.httpStatus ? `HTTP ${last.httpStatus}` : ''), replay]);
      }),
    );
  }
}

async function replayDeadLetter(callId, button) {
  button.disabled = true;
  const call = await guarded(() => apiJson(`/v1/dead-letters/${encodeURIComponent(callId)}/replay`, { method: 'POST' }));
  if (call) setStatus(`replayed ${callId}: ${call.status}`);
  await refreshLive();
}

// ---- charts -------------------------------------------------------------

function createCharts() {
  for (const chart of Object.values(charts ?? {})) chart.destroy();
  const width = Math.max(280, Math.floor($('chart-rate').parentElement.clientWidth / 2) - 16);
  // Points shown: a minute with calls between empty ones is a single point, which a line alone would not draw.
  const make = (id, title, series) =>
    new uPlot(
      { title, width, height: 160, series: [{}, ...series.map((s) => ({ points: { show: true, size: 4 }, ...s }))], axes: [{}, { size: 48 }] },
      [[], ...series.map(() => [])],
      $(id),
    );
  charts = {
    rate: make('chart-rate', 'calls per minute', [{ label: 'calls', stroke: '#3366cc', fill: 'rgba(51,102,204,.12)' }]),
    latency: make('chart-latency', 'latency, ms', [
      { label: 'p50', stroke: '#2a9d8f' },
      { label: 'p99', stroke: '#e76f51' },
    ]),
    errors: make('chart-errors', 'errors per minute', [{ label: 'errors', stroke: '#d62828', fill: 'rgba(214,40,40,.12)' }]),
    cold: make('chart-cold', 'cold starts per minute', [{ label: 'cold starts', stroke: '#7b2cbf' }]),
  };
  window.consoleCharts = charts;
}

function updateCharts(points) {
  if (!charts) return;
  const x = points.map((point) => point.t / 1000);
  charts.rate.setData([x, points.map((point) => point.calls)]);
  charts.latency.setData([x, points.map((point) => point.p50Ms), points.map((point) => point.p99Ms)]);
  charts.errors.setData([x, points.map((point) => point.errors)]);
  charts.cold.setData([x, points.map((point) => point.coldStarts)]);
  // What the rate chart plots, for a person or a test to read without parsing a canvas.
  $('chart-rate').dataset.total = String(points.reduce((sum, point) => sum + point.calls, 0));
}

// ---- invoke ---------------------------------------------------------------

async function invoke(queued) {
  const name = selected;
  let payload;
  try {
    payload = JSON.stringify(JSON.parse($('invoke-payload').value || 'null'));
  } catch (error) {
    showResult(`the payload is not JSON: ${error.message}`, true);
    return;
  }
  const headers = { 'content-type': 'application/json', ...(queued ? { 'x-invocation-type': 'Event' } : { 'x-log-type': 'Tail' }) };
  const response = await guarded(() => api(`/v1/functions/${name}/invocations`, { method: 'POST', headers, body: payload }));
  if (!response) return;
  const text = await response.text();
  const seconds = Number(response.headers.get('x-duration-seconds'));
  $('invoke-duration').textContent = `${response.status} · ${Number.isFinite(seconds) ? (seconds * 1000).toFixed(1) : '?'} ms · ${response.headers.get('x-call-id') ?? ''}`;
  const functionError = response.headers.get('x-function-error');
  showResult(pretty(text), !response.ok || functionError !== null);
  const tail = response.headers.get('x-log-result');
  $('invoke-logs').textContent = tail ? decodeBase64(tail) : '';
  await refreshLive();
}

function showResult(text, failed) {
  const result = $('invoke-result');
  result.textContent = text;
  result.classList.toggle('failed', failed);
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function decodeBase64(value) {
  return new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
}

// ---- live logs ------------------------------------------------------------

async function follow() {
  if (logStream) return stopFollowing();
  const name = selected;
  logStream = new AbortController();
  $('logs-follow').textContent = 'stop';
  const output = $('live-logs');
  try {
    const response = await api(`/v1/functions/${name}/logs?follow=true&tail=50`, { signal: logStream.signal });
    if (!response.ok) throw new Error(`logs answered ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let pending = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines.filter(Boolean)) {
        const entry = JSON.parse(line);
        output.append(`${time(entry.time)} ${entry.callId} ${entry.stream === 'stderr' ? '! ' : ''}${entry.line}\n`);
      }
      output.scrollTop = output.scrollHeight;
    }
  } catch (error) {
    if (error.name !== 'AbortError') setStatus(error.message, true);
  } finally {
    if (name === selected) stopFollowing();
  }
}

function stopFollowing() {
  logStream?.abort();
  logStream = undefined;
  $('logs-follow').textContent = 'follow';
}

// ---- deploy ---------------------------------------------------------------

const BUNDLE = /\.(zip|tar\.gz|tgz)$/i;

/** Files of a dropped folder, by path inside it. */
async function readDroppedEntry(entry, prefix, files) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    files[prefix + entry.name] = new Uint8Array(await file.arrayBuffer());
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await readDroppedEntry(child, `${prefix}${entry.name}/`, files);
  }
}

/** A folder's files (the folder's own name stripped) zipped, or a bundle file as it is. */
async function bundleFrom(items) {
  if (items.length === 1 && items[0].file && BUNDLE.test(items[0].file.name)) return items[0].file;
  const files = {};
  for (const item of items) {
    if (item.entry) await readDroppedEntry(item.entry, '', files);
    else files[item.path] = new Uint8Array(await item.file.arrayBuffer());
  }
  // A single folder dropped: its contents are the bundle's root.
  const roots = new Set(Object.keys(files).map((path) => path.split('/')[0]));
  const single = roots.size === 1 && Object.keys(files).every((path) => path.includes('/')) ? `${[...roots][0]}/` : '';
  const stripped = Object.fromEntries(Object.entries(files).map(([path, bytes]) => [path.slice(single.length), bytes]));
  if (Object.keys(stripped).length === 0) throw new Error('the folder is empty');
  return new Blob([fflate.zipSync(stripped)], { type: 'application/zip' });
}

async function deploy(items) {
  const name = $('deploy-name').value.trim();
  const status = $('deploy-status');
  if (!$('deploy-form').reportValidity()) return;
  try {
    status.textContent = 'uploading…';
    const bundle = await bundleFrom(items);
    const code = await apiJson('/v1/code', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bundle });
    const config = { runtime: $('deploy-runtime').value, handler: $('deploy-handler').value.trim(), code: { digest: code.digest } };
    await apiJson(`/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) });
    status.textContent = `deployed ${name} (${code.digest.slice(0, 19)}…, ${code.size} bytes)`;
    await refreshFunctions();
    await select(name);
  } catch (error) {
    status.textContent = `deploy failed: ${error.message}`;
  }
}

function wireDeploy() {
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const items = [...event.dataTransfer.items]
      .filter((item) => item.kind === 'file')
      .map((item) => ({ entry: item.webkitGetAsEntry?.() ?? undefined, file: item.getAsFile() }))
      .map((item) => (item.entry?.isDirectory ? { entry: item.entry } : { file: item.file, path: item.file.name }));
    void deploy(items);
  });
  $('deploy-folder').addEventListener('change', (event) => {
    const files = [...event.target.files];
    void deploy(files.map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    event.target.value = '';
  });
  $('deploy-zip').addEventListener('change', (event) => {
    const [file] = event.target.files;
    if (file) void deploy([{ file, path: file.name }]);
    event.target.value = '';
  });
}

// ---- start ----------------------------------------------------------------

$('token').value = localStorage.getItem(TOKEN_KEY) ?? '';
$('token').addEventListener('change', () => {
  localStorage.setItem(TOKEN_KEY, $('token').value.trim());
  setStatus('');
  void refreshFunctions();
});
$('invoke').addEventListener('click', () => void invoke(false));
$('invoke-async').addEventListener('click', () => void invoke(true));
$('logs-follow').addEventListener('click', () => void follow());
wireDeploy();
void refreshFunctions();
setInterval(() => {
  void refreshFunctions();
  void refreshLive();
}, POLL_MS);
