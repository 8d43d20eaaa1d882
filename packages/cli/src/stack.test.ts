import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenFrom } from './gateway.js';
import { memoryMb, readStack } from './stack.js';

const write = (files: Record<string, string>) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'faas-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
};

describe('stack files', () => {
  it('reads functions with their environment files, secrets, labels and memory', () => {
    const dir = write({
      'stack.yml': 'provider: {name: openfaas, gateway: "http://gw:8080"}\nfunctions:\n  a:\n    lang: node20\n    handler: ./a\n    environment_file: [env.yml]\n    environment: {B: 2}\n    secrets: [k]\n    labels: {team: x, com.openfaas.scale.max: 4}\n    limits: {memory: 256Mi}\n',
      'env.yml': 'environment:\n  A: one\n  B: overridden\n',
    });
    expect(readStack(path.join(dir, 'stack.yml'))).toEqual({
      gateway: 'http://gw:8080',
      functions: [{ name: 'a', lang: 'node20', handlerDir: path.join(dir, 'a'), environment: { A: 'one', B: '2' }, secrets: ['k'], labels: { team: 'x', 'com.openfaas.scale.max': '4' }, annotations: {}, memoryMb: 256, maxConcurrency: 4 }],
    });
  });

  it('refuses languages it cannot run, naming the ones it can', () => {
    const dir = write({ 'stack.yml': 'functions:\n  a:\n    lang: go\n    handler: ./a\n' });
    expect(() => readStack(path.join(dir, 'stack.yml'))).toThrow(/lang "go" is not one this CLI can run; use node20, node18, node22, python3, python3-http/);
  });

  it('reads Kubernetes memory quantities', () => {
    expect(memoryMb('f', 'm', '1Gi')).toBe(1024);
    expect(memoryMb('f', 'm', '128M')).toBe(123);
    expect(() => memoryMb('f', 'm', 'lots')).toThrow(/f: m: limits.memory "lots" is not a quantity/);
  });
});

describe('the token the CLI sends', () => {
  it('is --token, else FAAS_TOKEN, else the admin token file, else none', () => {
    const dir = write({ 'admin-token': 'from-file\n' });
    expect(tokenFrom({ token: 'flag' }, { FAAS_TOKEN: 'env', FAAS_WORK_DIR: dir })).toBe('flag');
    expect(tokenFrom({}, { FAAS_TOKEN: 'env', FAAS_WORK_DIR: dir })).toBe('env');
    expect(tokenFrom({}, { FAAS_WORK_DIR: dir })).toBe('from-file');
    expect(tokenFrom({}, { FAAS_WORK_DIR: path.join(dir, 'nowhere') })).toBeUndefined();
  });
});
