import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleSandboxEtc, isVisibleTarget, namesOnlyLoopback, writeResolvConf } from './sandbox-etc.js';

const scratch: string[] = [];
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-etc-'));
  scratch.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A host /etc with identity, configuration, certificates, a zone and alternatives. */
function fakeHostEtc(): string {
  const etc = folder();
  writeFileSync(join(etc, 'machine-id'), '0123456789abcdef0123456789abcdef\n');
  writeFileSync(join(etc, 'hostname'), 'build-host-7\n');
  writeFileSync(join(etc, 'hosts'), '10.1.2.3 build-host-7\n');
  writeFileSync(join(etc, 'passwd'), 'root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n');
  writeFileSync(join(etc, 'resolv.conf'), 'nameserver 10.0.0.53\n');
  mkdirSync(join(etc, 'ssl', 'certs'), { recursive: true });
  writeFileSync(join(etc, 'ssl', 'certs', 'ca-certificates.crt'), '-----BEGIN CERTIFICATE-----\n');
  symlinkSync('/usr/share/ca-certificates/mozilla/Some_Root.crt', join(etc, 'ssl', 'certs', 'Some_Root.pem'));
  symlinkSync('Some_Root.pem', join(etc, 'ssl', 'certs', '1a2b3c4d.0'));
  mkdirSync(join(etc, 'ssl', 'private'));
  symlinkSync('/usr/share/zoneinfo/Europe/Paris', join(etc, 'localtime'));
  mkdirSync(join(etc, 'alternatives'));
  symlinkSync('/usr/bin/mawk', join(etc, 'alternatives', 'awk'));
  symlinkSync('/usr/local/cuda-13.0', join(etc, 'alternatives', 'cuda'));
  symlinkSync('/opt/java/bin/java', join(etc, 'alternatives', 'java'));
  return etc;
}

describe('the sandbox /etc', () => {
  it('holds its own files, the CA bundle, the zone and visible alternatives, and nothing else of the host', async () => {
    const target = join(folder(), 'etc');
    await assembleSandboxEtc(target, { hostEtc: fakeHostEtc(), visibleDirs: ['/usr', '/bin'], uid: 65534 });
    expect(readdirSync(target).sort()).toEqual(['alternatives', 'group', 'hostname', 'hosts', 'localtime', 'nsswitch.conf', 'passwd', 'ssl']);
    expect(readdirSync(join(target, 'ssl'))).toEqual(['certs']);
    expect(readlinkSync(join(target, 'ssl', 'certs', '1a2b3c4d.0'))).toBe('Some_Root.pem');
    expect(readlinkSync(join(target, 'localtime'))).toBe('/usr/share/zoneinfo/Europe/Paris');
    expect(readdirSync(join(target, 'alternatives'))).toEqual(['awk']);
    expect(readFileSync(join(target, 'passwd'), 'utf8')).toContain('nobody:x:65534:65534:');
    expect(readFileSync(join(target, 'passwd'), 'utf8')).not.toContain('alice');
    expect(readFileSync(join(target, 'hostname'), 'utf8')).toBe('sandbox\n');
    expect(readFileSync(join(target, 'hosts'), 'utf8')).not.toContain('build-host-7');
  });

  it('gives egress sandboxes the host resolver, or the upstream one when the host resolves on loopback', async () => {
    const host = fakeHostEtc();
    const target = folder();
    expect(await writeResolvConf(target, host)).toBe(true);
    expect(readFileSync(join(target, 'resolv.conf'), 'utf8')).toBe('nameserver 10.0.0.53\n');
    expect(await writeResolvConf(target, host), 'unchanged: not rewritten').toBe(false);

    writeFileSync(join(host, 'resolv.conf'), 'nameserver 127.0.0.53\noptions edns0\n');
    const upstream = join(folder(), 'resolv.conf');
    writeFileSync(upstream, 'nameserver 192.0.2.1\n');
    expect(await writeResolvConf(target, host, upstream)).toBe(true);
    expect(readFileSync(join(target, 'resolv.conf'), 'utf8')).toBe('nameserver 192.0.2.1\n');
  });

  it('tells loopback resolvers and visible link targets apart', () => {
    expect(namesOnlyLoopback('nameserver 127.0.0.53\nnameserver ::1\n')).toBe(true);
    expect(namesOnlyLoopback('nameserver 127.0.0.53\nnameserver 10.0.0.2\n')).toBe(false);
    expect(namesOnlyLoopback('# nothing\n')).toBe(false);
    expect(isVisibleTarget('/usr/bin/mawk', ['/usr'])).toBe(true);
    expect(isVisibleTarget('/usr/local/bin/x', ['/usr'])).toBe(false);
    expect(isVisibleTarget('mawk', ['/usr'])).toBe(false);
  });
});
