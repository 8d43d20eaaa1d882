import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8 } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { tarGzBundle, zipBundle } from '../../../test/support/bundles.js';
import { readTopLevelFiles } from './bundle-files.js';
import { RUNTIME_BUNDLE_FILES, checkRuntimeBundle } from './runtime-manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'runtime-manifest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let written = 0;

function stored(bytes: Uint8Array): string {
  const path = join(dir, `bundle-${++written}`);
  writeFileSync(path, bytes);
  return path;
}

const zip = (files: Record<string, string>) => stored(zipBundle(files));
const tarGz = (files: Record<string, string>) => stored(tarGzBundle(files));

async function check(path: string, name = 'greeter') {
  return checkRuntimeBundle(await readTopLevelFiles(path, RUNTIME_BUNDLE_FILES), name);
}

async function refusal(path: string, name = 'greeter'): Promise<string> {
  const error = await check(path, name).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PlatformError);
  expect((error as PlatformError).code).toBe('invalid_code_bundle');
  return (error as PlatformError).message;
}

const BOOTSTRAP = '#!/bin/sh\nexec node runtime.js\n';

describe('custom runtime bundles', () => {
  it('accept a bootstrap and a runtime.json naming the runtime, from a zip or a tar.gz', async () => {
    const manifest = JSON.stringify({ name: 'greeter', description: 'says hello' });
    expect(await check(zip({ bootstrap: BOOTSTRAP, 'runtime.json': manifest, 'runtime.js': '' }))).toEqual({ name: 'greeter', description: 'says hello' });
    expect(await check(tarGz({ './bootstrap': BOOTSTRAP, './runtime.json': manifest }))).toEqual({ name: 'greeter', description: 'says hello' });
    expect(await check(zip({ bootstrap: BOOTSTRAP, 'runtime.json': '{"name": "greeter"}' }))).toEqual({ name: 'greeter', description: '' });
  });

  it('refuse a bundle without a bootstrap or a runtime.json at the top level, saying which', async () => {
    expect(await refusal(zip({ 'runtime.json': '{"name": "greeter"}' }))).toMatch(/file named bootstrap/);
    expect(await refusal(zip({ 'bin/bootstrap': BOOTSTRAP, 'runtime.json': '{"name": "greeter"}' }))).toMatch(/file named bootstrap/);
    expect(await refusal(zip({ bootstrap: '', 'runtime.json': '{"name": "greeter"}' }))).toMatch(/bootstrap is empty/);
    expect(await refusal(tarGz({ bootstrap: BOOTSTRAP }))).toMatch(/needs a runtime.json/);
  });

  it('refuse a runtime.json that is not JSON, not an object, or has a wrong field, naming the field', async () => {
    const withManifest = (text: string) => zip({ bootstrap: BOOTSTRAP, 'runtime.json': text });
    expect(await refusal(withManifest('{"name": '))).toMatch(/runtime.json is not JSON/);
    expect(await refusal(withManifest('["greeter"]'))).toMatch(/must be a JSON object/);
    expect(await refusal(withManifest('{"name": "greeter", "handler": "x"}'))).toMatch(/unknown field "handler"/);
    expect(await refusal(withManifest('{"description": "x"}'))).toMatch(/"name" must be a string/);
    expect(await refusal(withManifest('{"name": "other"}'))).toMatch(/"name" is "other" but the runtime is registered as "greeter"/);
    expect(await refusal(withManifest('{"name": "greeter", "description": 7}'))).toMatch(/"description" must be a string/);
    expect(await refusal(withManifest(JSON.stringify({ name: 'greeter', description: 'x'.repeat(1025) })))).toMatch(/"description" must be at most 1024/);
    expect(await refusal(withManifest(`{"name": "greeter", "description": "${'x'.repeat(70_000)}"}`))).toMatch(/runtime.json is larger than/);
  });

  it('refuse bytes that are no archive', async () => {
    expect(await refusal(stored(strToU8('#!/bin/sh\n')))).toMatch(/neither a zip nor a tar.gz/);
  });
});
