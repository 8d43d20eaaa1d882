// A sandbox shows nothing of its host: functions read, from inside, every
// place the host's identity or paths used to show through (the host's /etc,
// its machine id, hostname and boot id, the mount table, the cgroup file,
// /usr/local, /opt, /srv), and each answer is compared with the host's own.
// The runtimes still get what they need of /etc: a user database, localhost,
// and the host's CA bundle.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { http } from '../support/http.js';
import { EXEC_LOOK, HOST_VIEW_BUNDLE } from './host-view-functions.js';

/** The host folders sandboxes are meant to see: their mount table may name these and nothing else of the host's disks. */
const SYSTEM_DIRS = ['/usr', '/lib', '/lib64', '/bin', '/sbin'].filter((dir) => existsSync(dir));

let platform: Platform;
let seen: any;
let seenPython: any;
let seenExec: string;
let hostFiles: Array<{ path: string; digest: string }>;

/** Every world-readable regular file under the host's /etc, with its digest. */
function worldReadableFiles(dir: string, found: Array<{ path: string; digest: string }> = []) {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const stats = lstatSync(file);
    if ((stats.mode & 0o005) !== 0o005 && stats.isDirectory()) continue;
    if (stats.isDirectory()) worldReadableFiles(file, found);
    else if (stats.isFile() && (stats.mode & 0o004) && stats.size < 4 * 1024 * 1024) {
      found.push({ path: file, digest: createHash('sha256').update(readFileSync(file)).digest('hex') });
    }
  }
  return found;
}

async function call(name: string, event: unknown): Promise<any> {
  const answer = await http(`${platform.httpUrl}/v1/functions/${name}/invocations`, { method: 'POST', json: event });
  expect(answer.status, answer.text).toBe(200);
  expect(answer.headers.get('x-function-error'), answer.text).toBeNull();
  return answer.json;
}

beforeAll(async () => {
  platform = await startPlatform();
  const upload = await http(`${platform.httpUrl}/v1/code`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: zipBundle(HOST_VIEW_BUNDLE) });
  expect(upload.status, upload.text).toBeLessThan(300);
  const deploy = async (name: string, runtime: string, handler: string) => {
    const answer = await http(`${platform.httpUrl}/v1/functions/${name}`, {
      method: 'PUT',
      json: { runtime, handler, code: { digest: upload.json.digest }, memoryMb: 128, timeoutSeconds: 10 },
    });
    expect(answer.status, answer.text).toBeLessThan(300);
  };
  await deploy('look', 'nodejs', 'look.handler');
  await deploy('look-py', 'python3', 'look_py.handler');
  await deploy('look-exec', 'exec', EXEC_LOOK);
  hostFiles = worldReadableFiles('/etc');
  [seen, seenPython, seenExec] = await Promise.all([call('look', { hostFiles }), call('look-py', {}), call('look-exec', {})]);
});

afterAll(async () => {
  await platform?.stop();
});

describe("a sandbox's /etc is its own", () => {
  it("reads none of the host's /etc files, apart from the CA bundle", () => {
    expect(hostFiles.length, 'host files compared').toBeGreaterThan(50);
    const sameAsHost: string[] = seen.sameAsHost;
    expect(sameAsHost.filter((file) => !file.startsWith('/etc/ssl/certs/'))).toEqual([]);
  });

  it('holds only what the runtimes need: users, hosts, name service, hostname, CA bundle, zone, alternatives', () => {
    const optional = ['localtime', 'alternatives'].filter((name) => existsSync(path.join('/etc', name)));
    expect(seen.etc).toEqual(['group', 'hostname', 'hosts', 'nsswitch.conf', 'passwd', 'ssl', ...optional].sort());
    expect(seen.etcSsl).toEqual(['certs']);
    // No resolver without egress.
    expect(seen.etc).not.toContain('resolv.conf');
  });

  it('has no machine id and a hostname of its own, and cannot read the host boot id', () => {
    expect(seen.machineId).toEqual({ error: 'ENOENT' });
    expect(seen.dbusMachineId).toEqual({ error: 'ENOENT' });
    expect(seen.hostname).toBe('sandbox');
    expect(seen.hostname).not.toBe(os.hostname());
    expect(seen.etcHostname).toBe('sandbox\n');
    const hostBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8');
    expect(seen.bootId).not.toBe(hostBootId);
    expect(seen.bootId).toBe('');
  });

  it('still resolves its user, localhost and its own name, and trusts the host CAs, in every runtime', () => {
    const hostCas = (readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length;
    expect(hostCas).toBeGreaterThan(0);
    expect(seen).toMatchObject({ user: 'nobody', localhost: '127.0.0.1', caCertificates: hostCas, secureContext: 'ok' });
    expect(seenPython).toEqual({ user: 'nobody', group: 'nogroup', caCertificates: hostCas, hostname: 'sandbox', ownName: '127.0.0.1' });
    expect(seenExec).toBe('nobody\nawk ok\nsandbox\n');
  });
});

describe('no host paths in what the sandbox can read', () => {
  /** Strings that name this host or where the platform lives on it. */
  const hostNames = () => [REPO_ROOT, platform.workDir, platform.funcletStateDir, platform.funcletId, os.hostname(), os.tmpdir() + '/faas-'];

  it('/proc/self/mountinfo names no folder of the host but its system folders', () => {
    const lines: string[] = seen.mountinfo.trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const name of hostNames()) expect(lines.filter((line) => line.includes(name)), name).toEqual([]);
    // Mounts of the host's own disks show the folder they bind: only system folders may appear.
    const hostDisks = new Set(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((line) => line.split(' - ')[1]?.split(' ')[1]?.startsWith('/dev/'))
        .map((line) => line.split(' ')[2]),
    );
    const allowedRoots = new Set(SYSTEM_DIRS.map((dir) => realpathSync(dir)));
    const fromHostDisks = lines.map((line) => line.split(' ')).filter((fields) => hostDisks.has(fields[2]!));
    expect(fromHostDisks.length, 'the system folders are there').toBeGreaterThanOrEqual(SYSTEM_DIRS.length);
    for (const fields of fromHostDisks) expect(allowedRoots, `${fields[3]} mounted at ${fields[4]}`).toContain(fields[3]);
    // Overlays (the code) name their layers relatively.
    for (const line of lines.filter((l) => l.includes(' - overlay '))) expect(line).not.toMatch(/(lower|upper|work)dir=\//);
  });

  it('/proc/self/cgroup says "/" for every hierarchy', () => {
    const lines: string[] = seen.cgroup.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.split(':').slice(2).join(':'), line).toBe('/');
  });

  it('sees nothing under /usr/local, /opt (but its agent) or /srv', () => {
    if (existsSync('/usr/local')) expect(readdirSync('/usr/local').length, 'the host has things there').toBeGreaterThan(0);
    expect(seen.usrLocal).toEqual([]);
    expect(seen.opt).toEqual(['faas']);
    expect(seen.srv).toEqual({ error: 'ENOENT' });
  });
});
