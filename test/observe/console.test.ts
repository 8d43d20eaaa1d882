// The web console in a real browser (Debian's Chromium driven by
// playwright-core) against a real platform: deploy a folder from the page and
// a zip by dropping it, invoke and see the result, the duration and the log
// line, follow the live logs, see the rate chart move, and replay a dead
// letter. Screenshots go to test/.artifacts/ for a person to look at.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { eventually, http } from '../support/http.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test', '.artifacts');
/** Long enough for a cold start on a loaded machine; the page itself answers at once. */
const UI_WAIT_MS = 30_000;

let platform: Platform;
let browser: Browser;
let page: Page;
let codeDir: string;

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  codeDir = mkdtempSync(path.join(tmpdir(), 'faas-console-'));
  const folder = path.join(codeDir, 'greeter');
  mkdirSync(folder);
  writeFileSync(
    path.join(folder, 'index.js'),
    "exports.handler = async (event, context) => { console.log('greeting', event.who, 'in', context.callId); return { hello: event.who }; };\n",
  );
  platform = await startPlatform();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  await page.goto(`${platform.httpUrl}/ui/`);
  // Auth is on: the page holds no data until a token is pasted into it, and says so.
  await page.locator('#status.error').waitFor({ timeout: UI_WAIT_MS });
  await page.fill('#token', platform.credentials!.adminToken);
  await page.dispatchEvent('#token', 'change');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
  if (codeDir) rmSync(codeDir, { recursive: true, force: true });
});

describe('the web console', () => {
  it('is served at /ui with its libraries, no CDN', async () => {
    expect((await http(`${platform.httpUrl}/ui`, { redirect: 'manual' })).status).toBe(302);
    const index = await http(`${platform.httpUrl}/ui/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.text).not.toMatch(/https?:\/\//);
    expect((await http(`${platform.httpUrl}/ui/vendor/uplot.js`)).status).toBe(200);
    const missing = await http(`${platform.httpUrl}/ui/nothing.js`);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('route_not_found');
  });

  it('deploys a folder picked on the page and lists the function', async () => {
    await page.fill('#deploy-name', 'greeter');
    await page.setInputFiles('#deploy-folder', path.join(codeDir, 'greeter'));
    await page.getByTestId('deploy-status').filter({ hasText: 'deployed greeter' }).waitFor({ timeout: UI_WAIT_MS });
    await page.locator('#functions li[data-name="greeter"]').waitFor({ timeout: UI_WAIT_MS });
    expect(await page.locator('#function-title').textContent()).toBe('greeter');
    const config = await http(`${platform.httpUrl}/v1/functions/greeter`);
    expect(config.json).toMatchObject({ runtime: 'nodejs', handler: 'index.handler' });
    await shot('deployed');
  });

  it('invokes with the JSON editor and shows result, duration and the log line', async () => {
    await page.fill('#invoke-payload', '{"who": "browser"}');
    await page.click('#invoke');
    await page.getByTestId('invoke-result').filter({ hasText: '"hello": "browser"' }).waitFor({ timeout: UI_WAIT_MS });
    expect(await page.getByTestId('invoke-duration').textContent()).toMatch(/^200 · \d+(\.\d)? ms · /);
    expect(await page.getByTestId('invoke-logs').textContent()).toMatch(/greeting browser in \S+/);
    await shot('invoked');
  });

  it('moves the rate chart as calls come', async () => {
    const total = async () => Number((await page.getByTestId('chart-rate').getAttribute('data-total')) ?? '0');
    await eventually(async () => ((await total()) >= 1 ? true : undefined), UI_WAIT_MS, 'the first call on the chart');
    const before = await total();
    await page.fill('#invoke-payload', '{"who": "again"}');
    await page.click('#invoke');
    await page.click('#invoke');
    await eventually(async () => ((await total()) >= before + 2 ? true : undefined), UI_WAIT_MS, 'two more calls on the chart');
    await shot('chart');
  });

  it('follows the live logs', async () => {
    await page.click('#logs-follow');
    await page.fill('#invoke-payload', '{"who": "follower"}');
    // The follow request opens asynchronously: invoke until a line shows (each call writes one).
    await eventually(async () => {
      await page.click('#invoke');
      return (await page.getByTestId('live-logs').textContent())?.includes('greeting follower') ? true : undefined;
    }, UI_WAIT_MS, 'the live log line');
    await page.click('#logs-follow');
    await shot('live-logs');
  });

  it('deploys a zip dropped on the page', async () => {
    const zip = zipBundle({ 'index.js': "exports.handler = async () => 'from a zip';\n" });
    await page.fill('#deploy-name', 'zipped');
    // Runs in the page: its globals are the browser's, which the tests' types do not include.
    await page.evaluate((bytes) => {
      const browser = globalThis as any;
      const transfer = new browser.DataTransfer();
      transfer.items.add(new browser.File([new Uint8Array(bytes)], 'bundle.zip', { type: 'application/zip' }));
      browser.document.getElementById('drop-zone').dispatchEvent(new browser.DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, [...zip]);
    await page.getByTestId('deploy-status').filter({ hasText: 'deployed zipped' }).waitFor({ timeout: UI_WAIT_MS });
    await page.click('#invoke');
    await page.getByTestId('invoke-result').filter({ hasText: 'from a zip' }).waitFor({ timeout: UI_WAIT_MS });
  });

  it('lists a dead letter and replays it', async () => {
    const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', body: zipBundle({ 'index.js': "exports.handler = async () => { throw new Error('always'); };" }) });
    const put = await http(`${platform.httpUrl}/v1/functions/doomed`, {
      method: 'PUT',
      json: { runtime: 'nodejs', handler: 'index.handler', code: { digest: upload.json.digest }, async: { maxAttempts: 1, retryFunctionErrors: true } },
    });
    expect(put.status, put.text).toBeLessThan(300);
    const queued = await http(`${platform.httpUrl}/v1/functions/doomed/invocations`, { method: 'POST', json: {}, headers: { 'x-invocation-type': 'Event' } });
    const callId = queued.json.callId as string;
    await eventually(async () => ((await http(`${platform.httpUrl}/v1/calls/${callId}`)).json?.status === 'dead-lettered' ? true : undefined), UI_WAIT_MS, 'the call dead-lettered');

    await page.locator('#functions li[data-name="doomed"]').click({ timeout: UI_WAIT_MS });
    const replay = page.locator(`#dead-letters button[data-call-id="${callId}"]`);
    await replay.waitFor({ timeout: UI_WAIT_MS });
    expect(await page.getByTestId('dead-letters').textContent()).toContain('always');
    await shot('dead-letter');
    await replay.click();
    await page.locator('#status').filter({ hasText: `replayed ${callId}` }).waitFor({ timeout: UI_WAIT_MS });
    const call = await http(`${platform.httpUrl}/v1/calls/${callId}`);
    expect(call.json.replays).toBe(1);
    await shot('replayed');
  });
});
