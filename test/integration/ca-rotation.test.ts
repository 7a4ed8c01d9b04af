/**
 * Issuing CA rotation under load (issue 19): two replicas on one database and token (a
 * `keyline server --workers 2` child and an in-process server) issue without pause while a new
 * issuing key is made beside the current one (`ceremony csr --next`), signed by the root
 * (`sign-csr`), listed in keyline.json (`ca.issuing`) and activated (`keyline ca activate --next`),
 * with no restart. No request fails; every process switches; certificates of both CAs verify with
 * the chain returned with each and answer OCSP on both replicas; each CA's CRL is served; a replay
 * of a unit issued before the switch returns its own CA's chain.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromPem, fromPemAll, toPem } from '../../common/pem.js';
import { authorityKeyIdOf, caKeyId } from '../../server/ca/key-id.js';
import { runKeyline, runTool } from '../helpers/keyline-cli.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, issueStationIdentity, operatorFor, startTestServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';
import type { StationApiClient } from '../../station/api-client.js';

const pki = await makeDevPki(t);
const dir = pki.outDir;
const bin = fileURLToPath(new URL('../../bin/keyline.ts', import.meta.url));
const env = { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' };

const run = runTool;
const keyline = runKeyline;

// Replica 1: its own process with two workers. Replica 2: in this process.
const child = spawn(process.execPath, ['--import', 'tsx', bin, 'server', '--config', pki.configPath, '--workers', '2'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
t.teardown(() => void child.kill('SIGKILL'));
const childUrls = await new Promise<{ api: string; public: string }>((resolve, reject) => {
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const api = /^api (\S+)$/m.exec(out)?.[1];
    const pub = /^public (\S+)$/m.exec(out)?.[1];
    if (api && pub) resolve({ api, public: pub });
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', (code) => reject(new Error(`keyline server exited ${code}: ${err}`)));
});
const local = await startTestServer(t, pki);
const replicas = [{ api: childUrls.api, public: childUrls.public }, { api: local.apiUrl, public: local.publicUrl }];
await operatorFor(t, pki, local.apiUrl).createWorkOrder({ id: 'WO-ROT', product: 'Sensor', quota: 100_000 });
const clients: StationApiClient[] = replicas.map((r) => clientFor(t, pki, r.api));

interface Issued { serial: string; key: string; certificatePem: string; chainPem: string; aki: string | null }
const issued: Issued[] = [];
const failures: string[] = [];
let stop = false;

/** One station loop: single units, and now and then a batch of five, until `stop`. */
async function station(api: StationApiClient): Promise<void> {
  for (let i = 0; !stop; i++) {
    try {
      if (i % 5 === 4) {
        const units = Array.from({ length: 5 }, () => ({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-ROT' }));
        const r = await api.issueBatch(units);
        r.results.forEach((u, j) => {
          if (!u.ok) failures.push(`batch ${u.error.code}`);
          else issued.push({ serial: units[j]!.serial, key: units[j]!.publicKey, certificatePem: u.certificatePem, chainPem: u.chainPem ?? r.chainPem, aki: authorityKeyIdOf(fromPem(u.certificatePem)) });
        });
      } else {
        const key = deviceKey().rawHex;
        const serial = chipSerialHex();
        const r = await api.issueUnit({ serial, publicKey: key, workOrder: 'WO-ROT', idempotencyKey: serial });
        issued.push({ serial, key, certificatePem: r.certificatePem, chainPem: r.chainPem, aki: authorityKeyIdOf(fromPem(r.certificatePem)) });
      }
    } catch (err) {
      failures.push(`${(err as { status?: number }).status ?? '-'} ${(err as Error).message}`);
    }
  }
}

const ca1 = caKeyId(pki.issuingDer);

/** GET over HTTPS trusting the dev root (optionally with a client identity). */
function httpsGet(url: string, id: { cert?: string; key?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { ca: readFileSync(pki.rootCertPath, 'utf8'), ...id }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
const load = clients.flatMap((c) => [station(c), station(c), station(c)]);

t.test('rotation under load: no failed request, every replica and worker switches, no restart', async (t) => {
  await sleep(1000);
  t.ok(issued.length > 0 && issued.every((u) => u.aki === ca1), 'before: every certificate from the first CA');

  const csr = await keyline(['ceremony', 'csr', '--next', '--config', pki.configPath, '--out', join(dir, 'issuing-ca-2.csr'), '--json']);
  t.equal(csr.code, 0, csr.out);
  const { keyRef, issuingEntry } = JSON.parse(csr.stdout) as { keyRef: string; issuingEntry: { cert: string; key: string; crlUrl: string } };
  t.equal(keyRef, 'pkcs11:token=keyline-line;object=issuing-ca-2');
  const signed = await keyline(['ceremony', 'sign-csr', '--csr', join(dir, 'issuing-ca-2.csr'), '--root-cert', pki.rootCertPath, '--root-key', 'pkcs11:token=keyline-root;object=root-ca',
    '--pin-file', pki.rootPinPath, '--softhsm-conf', pki.softhsmConf, '--crl-url', 'http://127.0.0.1:8080/crl/root.crl', '--out', join(dir, issuingEntry.cert)]);
  t.equal(signed.code, 0, signed.out);
  const ca2Pem = readFileSync(join(dir, issuingEntry.cert), 'utf8');
  const ca2 = caKeyId(fromPem(ca2Pem));

  // keyline.json lists both; the running servers are not restarted.
  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
  cfg.ca.issuing = [{ cert: 'issuing-ca.pem', key: cfg.hsm.issuingKey, ocspResponderKey: cfg.ca.ocspResponderKey, ocspResponderCert: cfg.ca.ocspResponderCert }, issuingEntry];
  writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
  const before = issued.length;
  const activated = await keyline(['ca', 'activate', '--next', '--config', pki.configPath, '--json']);
  t.equal(activated.code, 0, activated.out);
  t.match(JSON.parse(activated.stdout), { keyId: ca2, from: ca1 });

  // Every process switches within a few seconds; the loads go on meanwhile.
  const deadline = Date.now() + 15_000;
  const fromCa2 = () => clients.map((c) => c.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-ROT' }).then((r) => authorityKeyIdOf(fromPem(r.certificatePem))));
  for (;;) {
    // Several per replica: the child's two workers take turns.
    const akis = await Promise.all([...fromCa2(), ...fromCa2(), ...fromCa2(), ...fromCa2()]);
    if (akis.every((a) => a === ca2)) break;
    if (Date.now() > deadline) throw new Error(`not every process switched: ${akis.join(', ')}`);
    await sleep(250);
  }
  await sleep(1000);
  stop = true;
  await Promise.all(load);
  t.same(failures, [], 'no request failed during the switch (no 5xx, no refusal)');
  const by = (id: string) => issued.filter((u) => u.aki === id);
  t.ok(by(ca1).length > 0 && by(ca2).length > 0, `${by(ca1).length} certificates from CA 1, ${by(ca2).length} from CA 2 (${issued.length - before} during the switch)`);
  t.equal(by(ca1).length + by(ca2).length, issued.length, 'none from anything else');

  // Each certificate came with its own CA's chain; OpenSSL verifies samples of both.
  for (const [id, group] of [[ca1, by(ca1)], [ca2, by(ca2)]] as const) {
    t.ok(group.every((u) => caKeyId(fromPemAll(u.chainPem)[0]!) === id), `chains of ${id} are its own`);
    for (const u of [group[0]!, group.at(-1)!]) {
      const f = join(dir, `${u.serial}.pem`);
      writeFileSync(f, u.certificatePem);
      const chain = join(dir, `${u.serial}-issuing.pem`);
      writeFileSync(chain, toPem(fromPemAll(u.chainPem)[0]!));
      const v = await run('openssl', ['verify', '-CAfile', pki.rootCertPath, '-untrusted', chain, f]);
      t.equal(v.code, 0, v.out);
      // OCSP answered by both replicas, each CA through its own responder.
      for (const r of replicas) {
        const o = await run('openssl', ['ocsp', '-issuer', chain, '-cert', f, '-url', `${r.public}/ocsp`, '-CAfile', pki.rootCertPath, '-verify_other', chain, '-no_nonce']);
        t.match(o.out, /: good/, `OCSP good for a CA ${id === ca1 ? 1 : 2} certificate at ${r.public}`);
        t.match(o.out, /Response verify OK/);
      }
    }
  }

  // Each CA's CRL at its own URL, on both replicas.
  writeFileSync(join(dir, 'ca2-chain.pem'), ca2Pem + readFileSync(pki.rootCertPath, 'utf8'));
  for (const r of replicas) {
    const der = Buffer.from(await (await fetch(`${r.public}${new URL(issuingEntry.crlUrl).pathname}`)).arrayBuffer());
    writeFileSync(join(dir, 'ca2.crl'), der);
    const c = await run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'ca2.crl'), '-CAfile', join(dir, 'ca2-chain.pem'), '-noout']);
    t.match(c.out, /verify OK/, `CA 2's CRL served by ${r.public}`);
    t.equal((await fetch(`${r.public}/crl/issuing.crl`)).status, 200, 'CA 1 keeps serving its CRL');
  }

  // A replay of a unit issued before the switch: its own (CA 1) chain, alone and in a batch.
  const old = by(ca1)[0]!;
  const replay = await clients[1]!.issueUnit({ serial: old.serial, publicKey: old.key, workOrder: 'WO-ROT', idempotencyKey: old.serial });
  t.equal(caKeyId(fromPemAll(replay.chainPem)[0]!), ca1, 'replay: the chain of the CA that issued it');
  const mixed = await clients[1]!.issueBatch([{ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-ROT' }, { serial: old.serial, publicKey: old.key, workOrder: 'WO-ROT', idempotencyKey: old.serial }]);
  t.equal(caKeyId(fromPemAll(mixed.chainPem)[0]!), ca2, 'the batch chain is the new CA\'s');
  const r1 = mixed.results[1]!;
  t.ok(r1.ok && r1.chainPem && caKeyId(fromPemAll(r1.chainPem)[0]!) === ca1, 'the replayed unit carries its own chain');

  // A client certified by the rotated-in CA, sending only its own certificate, is trusted
  // without a restart (the listener's trust follows the loaded CAs).
  const ca2Client = await issueStationIdentity(pki, { id: 'auditor-ca2', role: 'auditor', issuer: { keyRef, der: fromPem(ca2Pem) } });
  t.match(await httpsGet(`${local.apiUrl}/metrics`, ca2Client), /keyline_ca_active/, 'a CA 2 client identity is authenticated');

  // The chain endpoint and the metrics, keyline ca status.
  t.equal(caKeyId(fromPemAll(await httpsGet(`${local.apiUrl}/v1/ca/chain`))[0]!), ca2, 'GET /v1/ca/chain: the active CA\'s chain');
  const metrics = await httpsGet(`${local.apiUrl}/metrics`, { cert: readFileSync(pki.auditorCertPath, 'utf8'), key: readFileSync(pki.auditorKeyPath, 'utf8') });
  t.match(metrics, new RegExp(`keyline_ca_active\\{role="issuing",key_id="${ca2}",[^}]*\\} 1`));
  t.match(metrics, new RegExp(`keyline_ca_active\\{role="issuing",key_id="${ca1}",[^}]*\\} 0`));
  const status = await keyline(['ca', 'status', '--config', pki.configPath, '--json']);
  t.equal(status.code, 0, status.out);
  t.match(JSON.parse(status.stdout).cas, [{ role: 'root' }, { keyId: ca1, active: false }, { keyId: ca2, active: true }]);
});
