// Functions that look at their host from inside a sandbox: each reports what
// it could read, and the test compares that with the host's own view.

/** nodejs: the files, identity and mount tables a function can read. */
const LOOK = `
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import os from 'node:os';
import tls from 'node:tls';

const read = (path) => { try { return readFileSync(path, 'utf8'); } catch (error) { return { error: error.code }; } };
const list = (path) => { try { return readdirSync(path).sort(); } catch (error) { return { error: error.code }; } };
const sha256 = (path) => { try { return createHash('sha256').update(readFileSync(path)).digest('hex'); } catch { return undefined; } };

export const handler = async (event) => {
  const bundle = read('/etc/ssl/certs/ca-certificates.crt');
  return {
    // Host files (path and digest, sent by the test) this sandbox reads with the same bytes.
    sameAsHost: event.hostFiles.filter(({ path, digest }) => sha256(path) === digest).map(({ path }) => path),
    etc: list('/etc'),
    etcSsl: list('/etc/ssl'),
    mountinfo: read('/proc/self/mountinfo'),
    cgroup: read('/proc/self/cgroup'),
    hostname: os.hostname(),
    etcHostname: read('/etc/hostname'),
    machineId: read('/etc/machine-id'),
    dbusMachineId: read('/var/lib/dbus/machine-id'),
    bootId: read('/proc/sys/kernel/random/boot_id'),
    usrLocal: list('/usr/local'),
    opt: list('/opt'),
    srv: list('/srv'),
    user: os.userInfo().username,
    localhost: (await lookup('localhost', { family: 4 })).address,
    caCertificates: typeof bundle === 'string' ? (bundle.match(/BEGIN CERTIFICATE/g) ?? []).length : bundle,
    // Node's TLS takes the system bundle as its trust store.
    secureContext: typeof bundle === 'string' && tls.createSecureContext({ ca: bundle }) ? 'ok' : 'failed',
  };
};
`;

/** python3: the user database and the default TLS trust store. */
const LOOK_PY = `
import os, pwd, grp, ssl, socket

def handler(event, context):
    return {
        "user": pwd.getpwuid(os.getuid()).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
        "caCertificates": ssl.create_default_context().cert_store_stats()["x509_ca"],
        "hostname": socket.gethostname(),
        "ownName": socket.gethostbyname(socket.gethostname()),
    }
`;

export const HOST_VIEW_BUNDLE: Record<string, string> = { 'look.mjs': LOOK, 'look_py.py': LOOK_PY };

/** exec: the shell tools a command line expects (awk is a link through /etc/alternatives on Debian). */
export const EXEC_LOOK = `id -un; awk 'BEGIN { print "awk ok" }'; cat /etc/hostname`;
