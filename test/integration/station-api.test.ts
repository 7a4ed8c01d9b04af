/**
 * The station API end to end: real SoftHSM tokens from the dev ceremony, the real HTTPS server
 * with mTLS, SQLite, and OpenSSL checking every certificate issued.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import Database from 'better-sqlite3';
import * as x509 from '../../common/x509.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, issueStationIdentity, operatorFor, startTestServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';
import type { StationApiClient } from '../../station/api-client.js';
import { openStore } from '../../server/store/open-store.js';

const pki = await makeDevPki(t);
const server = await startTestServer(t, pki);
const api = clientFor(t, pki, server.apiUrl);
// Work orders are the operator's: a station cannot give itself a quota.
const operator = operatorFor(t, pki, server.apiUrl);
const dir = pki.outDir; // t.testdir() again would wipe the PKI's tokens
let n = 0;

function opensslVerify(pem: string): string {
  const f = join(dir, `cert-${n++}.pem`);
  writeFileSync(f, pem);
  return execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', pki.rootCertPath, '-untrusted', pki.issuingCertPath, f], { encoding: 'utf8' }).trim();
}

async function refused(t: Test, p: Promise<unknown>, status: number, code: string) {
  const err = (await p.then(() => null, (e) => e)) as { status?: number; code?: string } | null;
  t.ok(err, `refused with ${code}`);
  t.equal(err?.code, code, `code ${code}`);
  t.equal(err?.status, status, `status ${status}`);
}

function auditActions(): string[] {
  const db = new Database(join(pki.outDir, 'keyline.db'), { readonly: true });
  try {
    return (db.prepare('SELECT action FROM audit_log ORDER BY seq').all() as { action: string }[]).map((r) => r.action);
  } finally {
    db.close();
  }
}

await operator.createWorkOrder({ id: 'WO-1', product: 'Sensor', quota: 1000 });

t.test('issue: 201, the certificate verifies with openssl, and the record is there', async (t) => {
  const k = deviceKey();
  const serial = chipSerialHex();
  const r = await api.issueUnit({ serial, publicKey: k.rawHex, workOrder: 'WO-1', idempotencyKey: 'idem-1' });
  t.equal(r.serial, serial);
  t.match(r.fingerprintSha256, /^[0-9a-f]{64}$/);
  t.match(r.certificateSerial, /^[0-9a-f]{32}$/);
  t.match(opensslVerify(r.certificatePem), /: OK$/);
  const cert = new x509.X509Certificate(r.certificatePem);
  t.equal(cert.subject, `O=Sensor, CN=${serial}`);
  const raw = await webcrypto.subtle.exportKey('raw', await cert.publicKey.export(webcrypto as Crypto));
  t.equal(Buffer.from(new Uint8Array(raw)).subarray(1).toString('hex'), k.rawHex, 'the certificate carries the chip key');
  t.equal(r.chainPem.match(/BEGIN CERTIFICATE/g)?.length, 2, 'chain = issuing + root');
  const unit = await api.getUnit(serial);
  t.equal(unit.status, 'issued');
  t.equal(unit.fingerprintSha256, r.fingerprintSha256);
  const confirmed = await api.confirmUnit(serial, r.fingerprintSha256);
  t.equal(confirmed.status, 'confirmed');
  t.equal((await api.getWorkOrder('WO-1')).issued, 1);
});

t.test('an SPKI in base64 and a CSR in PEM are accepted too', async (t) => {
  const k = deviceKey();
  const r1 = await api.issueUnit({ serial: chipSerialHex(), publicKey: k.spkiB64, workOrder: 'WO-1' });
  t.match(opensslVerify(r1.certificatePem), /: OK$/);
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=device', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } }, webcrypto as Crypto);
  const r2 = await api.issueUnit({ serial: chipSerialHex(), csr: csr.toString('pem'), workOrder: 'WO-1' });
  t.match(opensslVerify(r2.certificatePem), /: OK$/);
  // A CSR whose signature does not verify: flip one bit of the signature value.
  const der = new Uint8Array(csr.rawData);
  der[der.length - 5]! ^= 0x01;
  const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await refused(t, api.issueUnit({ serial: chipSerialHex(), csr: bad, workOrder: 'WO-1' }), 400, 'CSR_SIGNATURE_INVALID');
});

t.test('a safe retry returns the same certificate; another key under the serial is SERIAL_EXISTS', async (t) => {
  const k = deviceKey();
  const serial = chipSerialHex();
  const first = await api.issueUnit({ serial, publicKey: k.rawHex, workOrder: 'WO-1', idempotencyKey: 'retry-1' });
  const before = (await api.getWorkOrder('WO-1')).issued;
  const again = await api.raw('POST', '/v1/units', { serial, publicKey: k.rawHex, workOrder: 'WO-1', idempotencyKey: 'retry-1' });
  t.equal(again.status, 200, 'a replay is 200, not 201');
  t.equal((again.body as { certificatePem: string }).certificatePem, first.certificatePem, 'the same certificate');
  t.equal((await api.getWorkOrder('WO-1')).issued, before, 'a replay uses no quota');
  await refused(t, api.issueUnit({ serial, publicKey: deviceKey().rawHex, workOrder: 'WO-1', idempotencyKey: 'retry-1' }), 409, 'SERIAL_EXISTS');
});

t.test('one key under two serials is DUPLICATE_KEY, and the attempt is audited', async (t) => {
  const k = deviceKey();
  await api.issueUnit({ serial: chipSerialHex(), publicKey: k.rawHex, workOrder: 'WO-1' });
  const clone = chipSerialHex();
  await refused(t, api.issueUnit({ serial: clone, publicKey: k.rawHex, workOrder: 'WO-1' }), 409, 'DUPLICATE_KEY');
  await refused(t, api.getUnit(clone), 404, 'UNKNOWN_UNIT');
  t.ok(auditActions().some((a) => /duplicate/i.test(a)), 'a duplicate-key audit record exists');
});

t.test('quota and station permissions', async (t) => {
  await operator.createWorkOrder({ id: 'WO-Q', product: 'Sensor', quota: 2 });
  await api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-Q' });
  await api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-Q' });
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-Q' }), 403, 'QUOTA_EXCEEDED');
  const wo = await api.getWorkOrder('WO-Q');
  t.equal(wo.issued, 2);
  t.equal(wo.remaining, 0);
  await operator.createWorkOrder({ id: 'WO-S', product: 'Sensor', quota: 5, stations: ['station-99'] });
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-S' }), 403, 'STATION_NOT_ALLOWED');
  await refused(t, operator.createWorkOrder({ id: 'WO-Q', product: 'Sensor', quota: 2 }), 409, 'WORK_ORDER_EXISTS');
  await refused(t, api.createWorkOrder({ id: 'WO-Z', product: 'Sensor', quota: 100_000 }), 403, 'FORBIDDEN');
});

t.test('bad input gets a precise 400 (or 413) and nothing is recorded', async (t) => {
  const count = (await api.getWorkOrder('WO-1')).issued;
  const good = deviceKey().rawHex;
  const offCurve = good.slice(0, 127) + (good[127] === '0' ? '1' : '0');
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: offCurve, workOrder: 'WO-1' }), 400, 'POINT_NOT_ON_CURVE');
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey('secp384r1').spkiB64, workOrder: 'WO-1' }), 400, 'UNSUPPORTED_CURVE');
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey('secp256k1').spkiB64, workOrder: 'WO-1' }), 400, 'UNSUPPORTED_CURVE');
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: 'zz' + good.slice(2), workOrder: 'WO-1' }), 400, 'INVALID_PUBLIC_KEY');
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: Buffer.from([0x30, 0x59, 0x30]).toString('base64'), workOrder: 'WO-1' }), 400, 'MALFORMED_DER');
  await refused(t, api.issueUnit({ serial: chipSerialHex(), publicKey: good, workOrder: 'NO-SUCH' }), 404, 'UNKNOWN_WORK_ORDER');
  await refused(t, api.issueUnit({ serial: '0123', publicKey: good, workOrder: 'WO-1' }), 400, 'VALIDATION_FAILED');
  const malformed = await api.raw('POST', '/v1/units', '{"serial": ');
  t.equal(malformed.status, 400);
  t.equal((malformed.body as { error: { code: string } }).error.code, 'MALFORMED_JSON');
  const huge = await api.raw('POST', '/v1/units', JSON.stringify({ serial: chipSerialHex(), publicKey: 'a'.repeat(2 * 1024 * 1024), workOrder: 'WO-1' }));
  t.equal(huge.status, 413);
  t.equal((huge.body as { error: { code: string } }).error.code, 'BODY_TOO_LARGE');
  t.equal((await api.getWorkOrder('WO-1')).issued, count, 'no refused request used quota');
});

t.test('authentication: no certificate, another CA, expired, a device certificate, revoked', async (t) => {
  const anon = clientFor(t, pki, server.apiUrl, { cert: '', key: '' });
  await refused(t, anon.getWorkOrder('WO-1'), 401, 'UNAUTHENTICATED');

  // A station certificate with the right shape from a CA this server does not trust.
  const other = join(dir, 'other');
  execFileSync('bash', ['-c', `mkdir -p ${other} && cd ${other} &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj "/CN=Other CA" -days 10 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout st.key -out st.csr -subj "/O=Keyline Dev/OU=station/CN=station-01" 2>/dev/null &&
    openssl x509 -req -in st.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out st.pem -days 10 2>/dev/null`]);
  const { readFileSync } = await import('node:fs');
  const foreign = clientFor(t, pki, server.apiUrl, { cert: readFileSync(join(other, 'st.pem'), 'utf8'), key: readFileSync(join(other, 'st.key'), 'utf8') });
  await refused(t, foreign.getWorkOrder('WO-1'), 401, 'CERTIFICATE_UNTRUSTED');

  const expired = await issueStationIdentity(pki, { id: 'station-old', now: new Date(Date.now() - 3 * 365 * 86400_000), years: 1 });
  await refused(t, clientFor(t, pki, server.apiUrl, expired).getWorkOrder('WO-1'), 401, 'CERTIFICATE_EXPIRED');

  // A device identity chains to the same CA but is not a station.
  const dk = deviceKey();
  const issued = await api.issueUnit({ serial: chipSerialHex(), publicKey: dk.rawHex, workOrder: 'WO-1' });
  const devicePem = dk.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await refused(t, clientFor(t, pki, server.apiUrl, { cert: issued.certificatePem, key: devicePem }).getWorkOrder('WO-1'), 403, 'FORBIDDEN');

  // A station whose certificate is revoked is refused from then on, on a new or an open connection.
  const doomed = await issueStationIdentity(pki, { id: 'station-lost' });
  const lost = clientFor(t, pki, server.apiUrl, doomed);
  t.equal((await lost.getWorkOrder('WO-1')).id, 'WO-1', 'works before revocation');
  const store = await openStore(`sqlite:${join(pki.outDir, 'keyline.db')}`);
  await store.transaction((tx) => tx.revocations.add({ certificateSerial: doomed.serialHex, kind: 'station', subject: 'CN=station-lost', reason: 'keyCompromise', revokedAt: new Date().toISOString(), revokedBy: 'test' }));
  await store.close();
  await refused(t, clientFor(t, pki, server.apiUrl, doomed).getWorkOrder('WO-1'), 403, 'CERTIFICATE_REVOKED');
  await new Promise((r) => setTimeout(r, 1100)); // the open connection re-checks within a second
  await refused(t, lost.getWorkOrder('WO-1'), 403, 'CERTIFICATE_REVOKED');
});

t.test('batch: up to 100 units, the same rules per unit', async (t) => {
  await operator.createWorkOrder({ id: 'WO-B', product: 'Gateway', quota: 100 });
  const dup = deviceKey().rawHex;
  const units: unknown[] = Array.from({ length: 97 }, () => ({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-B' }));
  units.push({ serial: chipSerialHex(), publicKey: dup, workOrder: 'WO-B' }, { serial: chipSerialHex(), publicKey: dup, workOrder: 'WO-B' }, { serial: 'nope', publicKey: dup, workOrder: 'WO-B' });
  const { results } = await api.issueBatch(units);
  t.equal(results.length, 100);
  t.equal(results.filter((r) => r.ok).length, 98);
  t.match(results[98], { ok: false, error: { code: 'DUPLICATE_KEY' } });
  t.match(results[99], { ok: false, error: { code: 'VALIDATION_FAILED' } });
  const sample = results[42]!;
  t.ok(sample.ok && /: OK$/.test(opensslVerify(sample.certificatePem)));
  t.equal((await api.getWorkOrder('WO-B')).issued, 98);
  const tooMany = await api.raw('POST', '/v1/units:batch', { units: Array.from({ length: 101 }, () => ({})) });
  t.equal(tooMany.status, 400);
});

t.test('listing pages through every unit once', async (t) => {
  const seen = new Set<string>();
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = `/v1/units?workOrder=WO-B&limit=30${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = (await operator.raw('GET', q)).body as { units: { serial: string }[]; nextCursor: string | null };
    for (const u of page.units) {
      t.notOk(seen.has(u.serial), 'no unit twice');
      seen.add(u.serial);
    }
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  t.equal(seen.size, 98);
  t.equal(pages, 4);
});

t.test('public routes: health, chain, OpenAPI; metrics for readers', async (t) => {
  const anon: StationApiClient = clientFor(t, pki, server.apiUrl, { cert: '', key: '' });
  const health = await anon.raw('GET', '/health');
  t.equal(health.status, 200);
  t.match(health.body, { ok: true, checks: { hsm: 'ok' } });
  t.equal((await anon.raw('GET', '/metrics')).status, 401, 'metrics need a reader\'s identity');
  const metrics = await operator.raw('GET', '/metrics');
  t.match(metrics.body as string, /keyline_certificates_issued_total\{via="single"\} \d+/);
  t.match(metrics.body as string, /keyline_api_refusals_total\{code="DUPLICATE_KEY"\} \d+/);
  const chain = await anon.raw('GET', '/v1/ca/chain');
  t.equal((chain.body as string).match(/BEGIN CERTIFICATE/g)?.length, 2);
  const doc = (await anon.raw('GET', '/v1/openapi.json')).body as { openapi: string; paths: Record<string, unknown> };
  t.match(doc.openapi, /^3\./);
  for (const p of ['/v1/work-orders', '/v1/work-orders/{id}', '/v1/work-orders/{id}/close', '/v1/units', '/v1/units:batch', '/v1/units/{serial}', '/v1/units/{serial}/release', '/v1/audit', '/v1/reconcile', '/v1/ca/chain', '/health', '/metrics']) t.ok(doc.paths[p], p);
  t.match(doc.paths['/v1/work-orders'], { post: { 'x-keyline-roles': ['operator'] } });
});
