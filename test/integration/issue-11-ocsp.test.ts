/**
 * Issue 11, hole 2: the OCSP responder's cache grew without bound and every request with new
 * hash parameters (or a nonce) cost an HSM signature. The attack first, then what must hold now,
 * against the real revocation stack (SoftHSM responder key, SQLite, the public HTTP listener),
 * every signed answer checked by `openssl ocsp`. The out-of-process memory proof is
 * test/security/ocsp-flood.test.ts.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../../common/log.js';
import { fromPem } from '../../common/pem.js';
import { toCert } from '../../server/ca/chain.js';
import { NULL, integerFromHex, octetString, oid, seq, tlv } from '../../common/der/writer.js';
import { OID_OCSP_NONCE } from '../../server/ca/ocsp-request.js';
import { spkiKeyBits } from '../../server/ca/ocsp-responder.js';
import { randomSerialHex } from '../../server/ca/profiles.js';
import { loadConfig } from '../../server/config.js';
import { Pkcs11KeyStore } from '../../server/hsm/pkcs11-key-store.js';
import { startRevocation } from '../../server/start-revocation.js';
import { openStore } from '../../server/store/open-store.js';
import { makeDevPki } from '../helpers/pki.js';
import { buildUnit, buildWorkOrder } from '../server/store/build.js';

const pki = await makeDevPki(t);
const dir = pki.outDir;
const { config, secrets } = loadConfig(pki.configPath, { ...process.env, KEYLINE_SERVER_PUBLIC_PORT: '0' });
const keyStore = Pkcs11KeyStore.open({ softhsmConf: config.hsm.softhsmConf, tokenLabel: config.hsm.tokenLabel, pin: secrets.hsmPin, sessions: 2 });
const store = await openStore(config.store.url);
// Two units recorded as issued by this CA: one stays good, one gets revoked.
const good = buildUnit({ serial: '0123000000000B11EE', certificateSerial: randomSerialHex() });
const victim = buildUnit({ serial: '0123000000000B12EE', certificateSerial: randomSerialHex() });
await store.transaction(async (tx) => {
  await tx.workOrders.create(buildWorkOrder({ id: 'WO-1' }));
  await tx.units.insert(good);
  await tx.units.insert(victim);
});
const stack = await startRevocation({
  config, keyStore, store, issuingSigner: await keyStore.getSigner(config.hsm.issuingKey!), issuingDer: pki.issuingDer, log: silentLogger,
});
t.teardown(async () => {
  await stack.close();
  await store.close();
  await keyStore.close();
});
const ocsp = stack.ocsp;
const url = `${stack.publicUrl}/ocsp`;

const issuing = toCert(pki.issuingDer);
const issuerName = Buffer.from(issuing.subjectName.toArrayBuffer());
const issuerKey = spkiKeyBits(new Uint8Array(issuing.publicKey.rawData));
const OIDS = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' } as const;
type Alg = keyof typeof OIDS;

/** A CertID for this issuer; `params` null = absent, or any DER. */
function certId(serialHex: string, alg: Alg = 'sha1', params: Buffer | null = NULL): Buffer {
  const h = (b: Uint8Array) => octetString(createHash(alg).update(b).digest());
  return seq(seq(oid(OIDS[alg]), ...(params ? [params] : [])), h(issuerName), h(issuerKey), integerFromHex(serialHex));
}
function request(id: Buffer, nonce?: Buffer): Buffer {
  return seq(seq(seq(seq(id)), ...(nonce ? [tlv(0xa2, seq(seq(oid(OID_OCSP_NONCE), octetString(octetString(nonce)))))] : [])));
}
async function post(der: Buffer): Promise<Buffer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(der) });
  if (res.status !== 200 || res.headers.get('content-type') !== 'application/ocsp-response') throw new Error(`HTTP ${res.status} ${res.headers.get('content-type')}`);
  return Buffer.from(await res.arrayBuffer());
}
const MALFORMED = Buffer.from('30030a0101', 'hex');
const UNAUTHORIZED = Buffer.from('30030a0106', 'hex');

function run(cmd: string, args: string[]): Promise<{ status: number; stdout: string; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, out: stdout + stderr });
    });
  });
}
const verifyArgs = ['-CAfile', pki.rootCertPath, '-verify_other', pki.issuingCertPath];
/** openssl ocsp against the listener. */
function opensslOcsp(args: string[]) {
  return run('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-url', url, ...verifyArgs, ...args]);
}
/** openssl's verdict on a response we fetched ourselves, for `serialHex` (openssl matches the CertID's hash algorithm: `alg`). */
function opensslRespin(resp: Buffer, serialHex: string, name: string, alg: Alg = 'sha1') {
  const f = join(dir, `${name}.der`);
  writeFileSync(f, resp);
  return run('openssl', ['ocsp', '-respin', f, `-${alg}`, '-issuer', pki.issuingCertPath, '-serial', `0x${serialHex}`, ...verifyArgs]);
}

t.test('issue 11 (hole 2): the attack — one good serial, 2,000 different hash parameters — is refused without a signature', async (t) => {
  // Warm: the serial's ordinary answer is cached first, as in the attack.
  const warm = await opensslOcsp(['-serial', `0x${good.certificateSerial}`, '-no_nonce']);
  t.match(warm.out, /Response verify OK/);
  t.match(warm.stdout, /: good/);
  // Snapshots, not fields, so that the pre-fix responder (which had neither `cache` nor
  // `stats.refused`) fails on the attack's assertions below rather than here.
  const before = structuredClone(ocsp.stats);
  const cacheBefore = ocsp.cache;
  const shapes = [
    (i: number) => octetString(Buffer.concat([Buffer.from(String(i)), randomBytes(7 * 1024)])),
    (i: number) => seq(integerFromHex(i.toString(16))),
    (i: number) => Buffer.concat([NULL, integerFromHex(i.toString(16))]),
    (i: number) => tlv(0x05, Buffer.of(i & 0xff)),
  ];
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const answer = await post(request(certId(good.certificateSerial, (['sha1', 'sha256'] as const)[i % 2], shapes[i % shapes.length]!(i))));
    if (answer.equals(MALFORMED)) refused++;
  }
  t.equal(refused, 2000, 'each answered malformedRequest');
  t.equal(ocsp.stats.signed, before.signed, 'no signature made');
  t.same(ocsp.cache, cacheBefore, 'cache entries and bytes unchanged');
  t.equal(ocsp.stats.refused.malformed - before.refused.malformed, 2000, 'counted as refused');
});

t.test('issue 11: different nonces cost one signature in total; openssl warns of the missing nonce and verifies', async (t) => {
  const signed = ocsp.stats.signed;
  const id = certId(good.certificateSerial, 'sha384');
  const answers = await Promise.all(Array.from({ length: 300 }, () => post(request(id, randomBytes(16)))));
  t.equal(ocsp.stats.signed, signed + 1, 'one signature for 300 nonces');
  t.ok(answers.every((a) => a.equals(answers[0]!)), 'all answered with the one pre-signed response');
  const r = await opensslRespin(answers[0]!, good.certificateSerial, 'nonce-sha384', 'sha384');
  t.match(r.out, /Response verify OK/);
  t.match(r.stdout, /: good/);
  for (let i = 0; i < 3; i++) {
    const withNonce = await opensslOcsp(['-serial', `0x${good.certificateSerial}`]);
    t.equal(withNonce.status, 0, withNonce.out);
    t.match(withNonce.out, /WARNING: no nonce in response/);
    t.match(withNonce.out, /Response verify OK/);
    t.match(withNonce.stdout, /: good/);
  }
  t.equal(ocsp.stats.signed, signed + 1, 'openssl with nonces: answered from the cache');
});

t.test('issue 11: serials this CA never issued get unauthorized, unsigned', async (t) => {
  const signed = ocsp.stats.signed;
  const unauthorized = ocsp.stats.refused.unauthorized;
  let n = 0;
  for (let i = 0; i < 500; i++) if ((await post(request(certId(randomSerialHex(), i % 2 ? 'sha256' : 'sha1')))).equals(UNAUTHORIZED)) n++;
  t.equal(n, 500);
  t.equal(ocsp.stats.refused.unauthorized - unauthorized, 500);
  t.equal(ocsp.stats.signed, signed, 'no signature');
  const r = await opensslOcsp(['-serial', '0x4242424242424242', '-no_nonce']);
  t.match(r.out, /Responder Error: unauthorized \(6\)/);
});

t.test('issue 11: parameters absent and NULL are both answered, for every hash, and openssl verifies each', async (t) => {
  for (const alg of ['sha1', 'sha256', 'sha512'] as const) {
    for (const params of [NULL, null]) {
      const id = certId(good.certificateSerial, alg, params);
      const resp = await post(request(id));
      t.ok(resp.includes(id), `${alg}, parameters ${params ? 'NULL' : 'absent'}: the CertID echoed as sent`);
      const r = await opensslRespin(resp, good.certificateSerial, `${alg}-${params ? 'null' : 'absent'}`, alg);
      t.match(r.out, /Response verify OK/);
      t.match(r.stdout, /: good/);
    }
  }
  const signed = ocsp.stats.signed;
  for (const alg of ['sha1', 'sha256', 'sha512'] as const) for (const params of [NULL, null]) await post(request(certId(good.certificateSerial, alg, params)));
  t.equal(ocsp.stats.signed, signed, 'each form cached once');
});

t.test('issue 11: a revocation reaches every cached form; the station certificate is unauthorized until revoked', async (t) => {
  const forms = (['sha1', 'sha256'] as const).flatMap((alg) => [certId(victim.certificateSerial, alg), certId(victim.certificateSerial, alg, null)]);
  for (const [i, id] of forms.entries()) {
    t.match((await opensslRespin(await post(request(id)), victim.certificateSerial, 'v-good', i < 2 ? 'sha1' : 'sha256')).stdout, /: good/);
  }
  await stack.revocation.revoke({ serial: victim.serial, reason: 'keyCompromise' }, 'officer-01');
  for (const [i, id] of forms.entries()) {
    const r = await opensslRespin(await post(request(id)), victim.certificateSerial, 'v-revoked', i < 2 ? 'sha1' : 'sha256');
    t.match(r.out, /Response verify OK/);
    t.match(r.stdout, /: revoked/);
    t.match(r.stdout, /Reason: keyCompromise/);
  }
  // Station (and server, responder) certificates are not recorded as units: no good answer for them.
  const station = await opensslOcsp(['-cert', pki.stationCertPath, '-no_nonce']);
  t.match(station.out, /Responder Error: unauthorized \(6\)/);
  const stationSerial = toCert(fromPem(readFileSync(pki.stationCertPath, 'utf8'))).serialNumber;
  await stack.revocation.revoke({ certificateSerial: stationSerial, reason: 'privilegeWithdrawn' }, 'officer-01');
  const revoked = await opensslOcsp(['-cert', pki.stationCertPath, '-no_nonce']);
  t.match(revoked.out, /Response verify OK/);
  t.match(revoked.stdout, /: revoked/);
});

t.test('issue 11: a bad GET encoding answers a DER malformedRequest, not plain text', async (t) => {
  const good1 = request(certId(good.certificateSerial));
  const b64 = good1.toString('base64');
  const get = async (segment: string) => {
    const res = await fetch(`${url}/${segment}`);
    t.equal(res.status, 200);
    t.equal(res.headers.get('content-type'), 'application/ocsp-response');
    return Buffer.from(await res.arrayBuffer());
  };
  const ok = await get(encodeURIComponent(b64));
  t.match((await opensslRespin(ok, good.certificateSerial, 'get')).stdout, /: good/, '%-encoded');
  t.same(await get(b64.replace(/\+/g, '%2B')), ok, "raw '/' and '=' (RFC 5019 §5)");
  const malformed = ocsp.stats.refused.malformed;
  for (const bad of [`${b64.slice(0, 8)}!!${b64.slice(8)}`, b64.replace(/=+$/, ''), b64.replace(/\//g, '_').replace(/\+/g, '-'), '%zz', 'A'.repeat(4000), `${b64}%00`]) {
    t.same(await get(bad), MALFORMED, `refused: ${bad.slice(0, 24)}…`);
  }
  t.same(await get(encodeURIComponent(request(certId(good.certificateSerial, 'sha1', octetString(randomBytes(200)))).toString('base64'))), MALFORMED, 'hostile parameters over GET');
  t.ok(ocsp.stats.refused.malformed > malformed);
});

t.test('issue 11: a POST body over the limit gets a clean 413 and the connection is closed', async (t) => {
  const { host, hostname, port } = new URL(stack.publicUrl);
  for (const framing of ['content-length', 'chunked'] as const) {
    const reply = await new Promise<{ text: string; closed: boolean }>((resolve) => {
      const s = connect(Number(port), hostname);
      let text = '';
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => resolve({ text, closed: true }));
      s.on('connect', () => {
        const head = framing === 'content-length' ? 'Content-Length: 1048576' : 'Transfer-Encoding: chunked';
        s.write(`POST /ocsp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/ocsp-request\r\n${head}\r\n\r\n`);
        const chunk = randomBytes(16 * 1024);
        for (let i = 0; i < 64; i++) s.write(framing === 'chunked' ? Buffer.concat([Buffer.from('4000\r\n'), chunk, Buffer.from('\r\n')]) : chunk);
      });
    });
    t.match(reply.text, /^HTTP\/1\.1 413 /, framing);
    t.match(reply.text, /connection: close/i);
    t.ok(reply.closed, 'the server closed the connection');
  }
  t.equal((await post(request(certId(good.certificateSerial)))).length > 100, true, 'the listener still answers');
});
