import { describe, expect, it } from 'vitest';
import { CallbackTargets, platformEndpoints } from './callback-targets.js';

const dns = (table: Record<string, string[]>) => async (host: string) => {
  const found = table[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

describe('CallbackTargets', () => {
  const deny = platformEndpoints(['nats://127.0.0.1:4222', 'redis://127.0.0.1:6379', '127.0.0.1:50051']);

  it('allows any host by default, except the platform\'s own ports on every loopback spelling', async () => {
    const targets = new CallbackTargets({ allow: ['*'], deny }, dns({ 'hooks.example': ['203.0.113.7'], sneaky: ['127.0.0.1'] }));
    expect(await targets.check('http://127.0.0.1:9000/done')).toEqual({ allowed: true });
    expect(await targets.check('https://hooks.example/x')).toEqual({ allowed: true });
    expect(await targets.check('http://127.0.0.1:4222/')).toMatchObject({ allowed: false });
    expect(await targets.check('http://localhost:6379/')).toMatchObject({ allowed: false });
    expect(await targets.check('http://[::1]:50051/')).toMatchObject({ allowed: false });
    // A name that resolves to a platform address is caught after resolution.
    expect(await targets.check('http://sneaky:4222/')).toMatchObject({ allowed: false });
  });

  it('always refuses link-local metadata addresses and non-http schemes', async () => {
    const targets = new CallbackTargets({ allow: ['*'], deny: [] }, dns({ metadata: ['169.254.169.254'] }));
    expect(await targets.check('http://169.254.169.254/latest')).toMatchObject({ allowed: false });
    expect(await targets.check('http://metadata/')).toMatchObject({ allowed: false });
    expect(await targets.check('ftp://example.com/')).toMatchObject({ allowed: false });
  });

  it('takes hosts, ports, domain suffixes and CIDR blocks in the allow-list', async () => {
    const targets = new CallbackTargets({ allow: ['*.corp.example', 'hooks.example:8443', '10.0.0.0/8'], deny: [] }, dns({ 'a.corp.example': ['10.1.2.3'], 'hooks.example': ['203.0.113.7'] }));
    expect(await targets.check('http://a.corp.example/')).toEqual({ allowed: true });
    expect(await targets.check('https://hooks.example:8443/')).toEqual({ allowed: true });
    expect(await targets.check('https://hooks.example/')).toMatchObject({ allowed: false });
    expect(await targets.check('http://10.9.9.9:1234/')).toEqual({ allowed: true });
    expect(await targets.check('http://192.168.1.1/')).toMatchObject({ allowed: false });
    expect(await targets.check('http://unknown.example/')).toMatchObject({ allowed: false });
  });
});
