/**
 * Two server replicas on one SQLite file and one token (issue 7): a `keyline server` child process
 * and an in-process server. The first to start signs the CRL (the 'crl-issuer' lease); both serve
 * it (`openssl crl` on each); a revocation through the replica that does not sign reaches both
 * CRLs; after `kill -9` of the signer the other takes over once the lease (2 s here) expires, and
 * CRL numbers keep increasing.
 */
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, officerFor, operatorFor, startTestServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';
import { openStore } from '../../server/store/open-store.js';
import { CRL_LEASE } from '../../server/services/crl-publisher.js';

const pki = await makeDevPki(t);
const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
cfg.ca.crlLeaseSeconds = 2;
writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
const bin = fileURLToPath(new URL('../../bin/keyline.ts', import.meta.url));
const env = { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' };

// Replica 1: its own process, started first so it takes the lease.
const child = spawn(process.execPath, ['--import', 'tsx', bin, 'server', '--config', pki.configPath], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
t.teardown(() => void child.kill('SIGKILL'));
const childPublic = await new Promise<string>((resolve, reject) => {
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /^public (\S+)$/m.exec(out);
    if (m) resolve(m[1]!);
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', (code) => reject(new Error(`keyline server exited ${code}: ${err}`)));
});
// Replica 2: in this process, on the same database file and token.
const local = await startTestServer(t, pki);
const api = clientFor(t, pki, local.apiUrl);
const officer = officerFor(t, pki, local.apiUrl);
const chain = join(pki.outDir, 'chain.pem');
writeFileSync(chain, readFileSync(pki.rootCertPath, 'utf8') + readFileSync(pki.issuingCertPath, 'utf8'));

/** The CRL a replica serves, as `openssl crl` reads it (signature checked against the chain). */
async function served(publicUrl: string): Promise<{ number: number; text: string; der: Buffer }> {
  const der = Buffer.from(await (await fetch(`${publicUrl}/crl/issuing.crl`)).arrayBuffer());
  const f = join(pki.outDir, `crl-${Math.random().toString(36).slice(2)}.der`);
  writeFileSync(f, der);
  const text = await new Promise<string>((resolve, reject) => {
    execFile('openssl', ['crl', '-inform', 'DER', '-in', f, '-CAfile', chain, '-noout', '-text'], { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout + stderr)));
  });
  const m = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text);
  return { number: Number(m![1]), text, der };
}

async function until(what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function leaseHolder(): Promise<string | undefined> {
  const store = await openStore(`sqlite:${join(pki.outDir, 'keyline.db')}`);
  try {
    return (await store.transaction((tx) => tx.leases.get(CRL_LEASE)))?.holder;
  } finally {
    await store.close();
  }
}

async function revokeOne(): Promise<string> {
  const serial = chipSerialHex();
  const unit = await api.issueUnit({ serial, publicKey: deviceKey().rawHex, workOrder: 'WO-CRL' });
  const r = await officer.raw('POST', '/v1/revocations', { serial, reason: 'keyCompromise' });
  t.equal(r.status, 200);
  return unit.certificateSerial.toUpperCase().replace(/^0+/, '');
}

await operatorFor(t, pki, local.apiUrl).createWorkOrder({ id: 'WO-CRL', product: 'Sensor', quota: 10 });

t.test('both replicas serve the one CRL the lease holder signed', async (t) => {
  const [a, b] = [await served(childPublic), await served(local.publicUrl)];
  t.match(a.text, /verify OK/, 'openssl verifies the CRL signature');
  t.equal(a.number, b.number);
  t.same(a.der, b.der, 'the same bytes from both');
  t.match(await leaseHolder(), new RegExp(`:${child.pid}:`), 'the child process holds the lease');
});

let first = '';
t.test('a revocation through the replica that does not sign reaches both CRLs', async (t) => {
  const before = (await served(local.publicUrl)).number;
  first = await revokeOne();
  await until('both CRLs to list the revocation', async () => (await Promise.all([childPublic, local.publicUrl].map(served))).every((c) => c.text.includes(first)));
  const [a, b] = [await served(childPublic), await served(local.publicUrl)];
  t.ok(a.number > before, `CRL number ${before} → ${a.number}`);
  t.equal(b.number, a.number, 'the in-process replica loaded it from the store');
  t.match(await leaseHolder(), new RegExp(`:${child.pid}:`), 'still signed by the child');
});

t.test('kill -9 of the signer: the other replica takes over after the lease expires', async (t) => {
  const before = (await served(local.publicUrl)).number;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const second = await revokeOne();
  const started = Date.now();
  await until('the surviving replica to sign a CRL with the new revocation', async () => (await served(local.publicUrl)).text.includes(second));
  const c = await served(local.publicUrl);
  t.ok(c.number > before, `CRL number ${before} → ${c.number}`);
  t.match(c.text, /verify OK/);
  t.ok(c.text.includes(first), 'the earlier revocation is still listed');
  t.match(await leaseHolder(), new RegExp(`:${process.pid}:`), 'this process holds the lease now');
  t.ok(Date.now() - started < 6000, `took over in ${Date.now() - started} ms (lease 2 s, poll 1 s)`);
});
