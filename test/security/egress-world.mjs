// A world of its own for the egress test, run by egress-host.test.ts as
//   unshare --net --mount --fork node egress-world.mjs
// so that the host whose forwarding settings, firewall and resolver the
// platform touches is a network namespace nobody else uses (the machine's
// own is shared with other tests and other platforms). In it: an uplink to
// an "outside" namespace with a web server and a DNS server, /etc/resolv.conf
// naming that DNS server, forwarding off, the firewall tables present and
// empty, as on a plain host. Then a whole platform with an egress function
// and a closed one. It prints one JSON line: what each function saw and the
// host's state before, during, after the last egress sandbox and after the
// platform stopped.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { startPlatform } from '@faas/launcher';
import { Funclet, createClient } from '@faas/protocol';

const OUTSIDE = 'outside';
const UPLINK = '10.251.0.1';
const SERVER = '10.251.0.2';

const run = (file, ...args) => execFileSync(file, args, { encoding: 'utf8' });
const ip = (...args) => run('ip', ...args);

/** The firewall as iptables-save prints it, without its comments and packet counters. */
const firewall = () =>
  run('iptables-save')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/, ''))
    .join('\n');

/** ip_forward and every interface's forwarding. */
function forwarding() {
  const conf = '/proc/sys/net/ipv4/conf';
  const values = { ip_forward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() };
  for (const name of readdirSync(conf)) values[name] = readFileSync(path.join(conf, name, 'forwarding'), 'utf8').trim();
  return values;
}

const bridges = () => ip('-o', 'link', 'show', 'type', 'bridge').trim();

async function until(probe, what) {
  for (let tries = 0; tries < 200; tries++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Nothing of this world on the machine's own /run: its namespaces and forwarding registry stay in here.
for (const dir of ['/run/netns', '/run/faas']) {
  mkdirSync(dir, { recursive: true });
  run('mount', '-t', 'tmpfs', 'tmpfs', dir);
}
ip('link', 'set', 'lo', 'up');
ip('netns', 'add', OUTSIDE);
ip('link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE);
ip('addr', 'add', `${UPLINK}/24`, 'dev', 'up0');
ip('link', 'set', 'up0', 'up');
ip('route', 'add', 'default', 'via', SERVER);
ip('-n', OUTSIDE, 'addr', 'add', `${SERVER}/24`, 'dev', 'eth0');
ip('-n', OUTSIDE, 'link', 'set', 'eth0', 'up');
ip('-n', OUTSIDE, 'link', 'set', 'lo', 'up');

// Outside: a web server, and a DNS server that knows one name.
const WEB = `require('node:http').createServer((q, r) => r.end('outside says hi')).listen(8080, '${SERVER}', () => console.log('up'))`;
const DNS = `
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('${SERVER}', 53))
print('up', flush=True)
while True:
    query, peer = s.recvfrom(512)
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += query[i] + 1
    qtype = struct.unpack('>H', query[i + 1:i + 3])[0]
    known = '.'.join(labels).lower() == 'outside.test'
    answers = 1 if known and qtype == 1 else 0
    header = query[:2] + struct.pack('>HHHHH', 0x8180 if known else 0x8183, 1, answers, 0, 0)
    answer = b'\\xc0\\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + socket.inet_aton('${SERVER}') if answers else b''
    s.sendto(header + query[12:i + 5] + answer, peer)
`;
const outside = [
  spawn('ip', ['netns', 'exec', OUTSIDE, process.execPath, '-e', WEB], { stdio: ['ignore', 'pipe', 'inherit'] }),
  spawn('ip', ['netns', 'exec', OUTSIDE, '/usr/bin/python3', '-c', DNS], { stdio: ['ignore', 'pipe', 'inherit'] }),
];
await Promise.all(outside.map((child) => new Promise((resolve) => child.stdout.once('data', resolve))));

// The resolver this host uses, as a file bound over /etc/resolv.conf in this mount namespace only.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'faas-egress-world-'));
// However this world ends (a failed step included), its files go; its mounts go with its mount namespace.
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const resolvConf = `nameserver ${SERVER}\noptions timeout:1 attempts:2\n`;
writeFileSync(path.join(scratch, 'resolv.conf'), resolvConf);
run('mount', '--bind', path.join(scratch, 'resolv.conf'), '/etc/resolv.conf');

// A plain host: filter and nat tables present (a fresh namespace has none), forwarding off but on one interface.
for (const table of ['filter', 'nat']) {
  run('iptables', '-w', '-t', table, '-N', 'PRIME');
  run('iptables', '-w', '-t', table, '-X', 'PRIME');
}
writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
writeFileSync('/proc/sys/net/ipv4/conf/lo/forwarding', '1');

const report = { resolvConf, before: { forwarding: forwarding(), firewall: firewall(), bridges: bridges() } };
// Not a test of auth: its routes open.
const platform = await startPlatform({ workDir: path.join(scratch, 'platform'), env: { FUNCLET_POOL_SIZE: '0' }, auth: false });
try {
  const base = platform.httpUrl;
  const handler = `
import { readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
export const handler = async (event) => {
  const attempt = async (work) => { try { return await work(); } catch (error) { return { error: error.code ?? error.name }; } };
  const resolv = await attempt(async () => readFileSync('/etc/resolv.conf', 'utf8'));
  const address = await attempt(async () => (await lookup(event.name, { family: 4 })).address);
  const body = await attempt(async () => (await fetch('http://' + event.name + ':8080/', { signal: AbortSignal.timeout(3000) })).text());
  return { resolv, address, body };
};`;
  const code = await (await fetch(`${base}/v1/code`, { method: 'POST', headers: { 'content-type': 'application/zip' }, body: zipSync({ 'net.mjs': strToU8(handler) }) })).json();
  for (const [name, egress] of [['egress-fn', true], ['closed-fn', false]]) {
    const put = await fetch(`${base}/v1/functions/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime: 'nodejs', handler: 'net.handler', code: { digest: code.digest }, memoryMb: 128, timeoutSeconds: 15, network: { egress } }),
    });
    if (put.status >= 300) throw new Error(`deploying ${name}: ${put.status} ${await put.text()}`);
  }
  const invoke = async (name) =>
    (await fetch(`${base}/v1/functions/${name}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'outside.test' }) })).json();
  report.egress = await invoke('egress-fn');
  report.during = { forwarding: forwarding(), firewall: firewall(), bridges: bridges() };
  report.closed = await invoke('closed-fn');

  // The last egress sandbox goes; the platform keeps running.
  const funclet = createClient(Funclet, platform.addresses.funclet, { peerName: 'funclet' });
  for (const sandbox of (await funclet.listSandboxes({})).sandboxes) {
    if (sandbox.functionName === 'egress-fn') await funclet.destroySandbox({ sandboxId: sandbox.sandboxId });
  }
  funclet.close();
  // ip_forward is written back first (the kernel copies it to every interface), then each interface's own value:
  // wait for all of them, or a reading between the two writes sees lo's forwarding still off.
  const putBack = () => Object.entries(report.before.forwarding).every(([name, value]) => forwarding()[name] === value);
  await until(putBack, 'forwarding to be put back').catch(() => {});
  report.afterLastEgress = { forwarding: forwarding() };
} finally {
  await platform.stop();
  for (const child of outside) child.kill('SIGKILL');
}
report.after = { forwarding: forwarding(), firewall: firewall(), bridges: bridges() };
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
