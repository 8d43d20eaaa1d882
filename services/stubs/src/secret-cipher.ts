/**
 * Secret values at rest: AES-256-GCM under a key file beside stubs' data
 * (created with mode 0600 on first start), so a copy of Redis alone reveals
 * nothing. Each value gets its own random IV; the auth tag makes tampering
 * (or a wrong key) an error rather than garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PlatformError } from '@faas/errors';

/** The key's file name in stubs' data folder. */
export const SECRETS_KEY_FILE = 'secrets.key';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Stored form: "v1:" + base64(iv | tag | ciphertext). The version leaves room to rotate the scheme. */
const PREFIX = 'v1:';

export class SecretCipher {
  private constructor(private readonly key: Buffer) {}

  /** Reads the key file, or writes a fresh random key there (0600) when there is none. */
  static async fromKeyFile(path: string): Promise<SecretCipher> {
    await mkdir(dirname(path), { recursive: true });
    try {
      // 'wx': never overwrite a key another replica (or an earlier start) wrote; values under it would be lost.
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(randomBytes(KEY_BYTES));
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const key = await readFile(path);
    if (key.length !== KEY_BYTES) throw new Error(`the secrets key file ${path} must hold exactly ${KEY_BYTES} bytes (it holds ${key.length})`);
    return new SecretCipher(key);
  }

  static fromKey(key: Buffer): SecretCipher {
    if (key.length !== KEY_BYTES) throw new Error(`a secrets key is ${KEY_BYTES} bytes`);
    return new SecretCipher(key);
  }

  /** `name` is bound into the tag, so a value cannot be moved to another secret's key in Redis. */
  seal(name: string, value: Uint8Array): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(name));
    const body = Buffer.concat([cipher.update(value), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  open(name: string, sealed: string): Buffer {
    if (!sealed.startsWith(PREFIX)) throw new PlatformError('internal', `secret ${JSON.stringify(name)} is stored in an unknown form`);
    const bytes = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(name));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (error) {
      // Never the value or the key in the message: only that they do not match.
      throw new PlatformError('internal', `secret ${JSON.stringify(name)} cannot be decrypted with this key file`, { cause: error });
    }
  }
}
