import { describe, expect, it } from 'vitest';
import { basicCredentialsOf, credentialsFrom, fixedCredentials } from './basic-auth.js';

const basic = (value: string) => ({ authorization: `Basic ${Buffer.from(value).toString('base64')}` });

describe('OpenFaaS basic auth', () => {
  it('reads Basic headers and treats faas-cli\'s empty Bearer as no credentials', () => {
    expect(basicCredentialsOf(basic('admin:s3:cret'))).toEqual({ user: 'admin', password: 's3:cret' });
    expect(basicCredentialsOf({ authorization: 'Bearer ' })).toBeUndefined();
    expect(basicCredentialsOf({})).toBeUndefined();
    expect(basicCredentialsOf(basic('no-colon'))).toBeUndefined();
  });

  it('accepts only the configured user and password', () => {
    const credentials = fixedCredentials('admin', 'pw');
    expect(credentials.verify('admin', 'pw')).toBe(true);
    expect(credentials.verify('admin', 'pw2')).toBe(false);
    expect(credentials.verify('root', 'pw')).toBe(false);
  });

  it('is off without configuration and refuses half of it', () => {
    expect(credentialsFrom({ user: '', userFile: '', password: '', passwordFile: '' })).toBeUndefined();
    expect(() => credentialsFrom({ user: 'admin', userFile: '', password: '', passwordFile: '' })).toThrow(/both/);
  });
});
