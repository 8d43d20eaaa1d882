import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretCipher } from './secret-cipher.js';

describe('secret cipher', () => {
  it('seals values so that only the same key and name open them', () => {
    const cipher = SecretCipher.fromKey(Buffer.alloc(32, 7));
    const sealed = cipher.seal('api-key', Buffer.from('hunter2'));
    expect(sealed).not.toContain('hunter2');
    expect(sealed).not.toBe(cipher.seal('api-key', Buffer.from('hunter2')));
    expect(cipher.open('api-key', sealed).toString()).toBe('hunter2');
    expect(() => cipher.open('other-name', sealed)).toThrow(/cannot be decrypted/);
    expect(() => SecretCipher.fromKey(Buffer.alloc(32, 8)).open('api-key', sealed)).toThrow(/cannot be decrypted/);
  });

  it('creates its key file once, readable by its owner only, and reads it back', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cipher-')), 'data', 'secrets.key');
    const first = await SecretCipher.fromKeyFile(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const sealed = first.seal('n', Buffer.from('v'));
    expect((await SecretCipher.fromKeyFile(file)).open('n', sealed).toString()).toBe('v');
  });
});
