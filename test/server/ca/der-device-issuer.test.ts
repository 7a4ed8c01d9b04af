/**
 * Issue 15: the SE050 device-certificate profile (plain DER) checked with OpenSSL, its fields
 * beside the ATECC608 template's, its validity to the second, and the chip issuer that sends each
 * request to its chip's profile. The enrollment service's fast path recognises it as this CA's.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readCertFields } from '../../../secure-element/atcacert/cert-fields.js';
import { createChipDeviceIssuer } from '../../../server/ca/chip-device-issuer.js';
import { createDerDeviceIssuer } from '../../../server/ca/der-device-issuer.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { checkIssuedFast, issuingCaFacts } from '../../../server/enroll/issued-cert-check.js';
import { makeTestPki, toPem } from '../../secure-element/atcacert/ca-fixture.js';

const uid = Uint8Array.from(Buffer.from('04005001A1B2C3D4E5F60718293A4B5C6D7E', 'hex'));
const crlUrl = 'http://pki.example.test/crl/issuing-01.crl';
const ocspUrl = 'http://pki.example.test/ocsp';

function deviceKey(): Uint8Array {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 64));
}

t.test('SE050 device profile, checked by OpenSSL: the 608 profile\'s extensions, CN = the 36-digit unique id', async (t) => {
  const pki = await makeTestPki();
  const dir = t.testdir({ 'root.pem': pki.rootPem, 'issuing.pem': pki.issuingPem });
  const issuer = createDerDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, crlUrl, ocspUrl, validityYears: 10 });
  const publicKey = deviceKey();
  const issuedAt = new Date(Date.UTC(2026, 4, 17, 13, 21, 42, 789));
  const cert = await issuer.issue({ chip: 'se050', chipSerial: uid, publicKey, product: 'Widget 3000', issuedAt });
  writeFileSync(join(dir, 'dev.pem'), toPem(cert.der));
  t.equal(execFileSync('openssl', ['verify', '-x509_strict', '-attime', String(Date.UTC(2027, 0, 1) / 1000), '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), join(dir, 'dev.pem')], { encoding: 'utf8' }).trim(), `${join(dir, 'dev.pem')}: OK`);
  const text = execFileSync('openssl', ['x509', '-in', join(dir, 'dev.pem'), '-noout', '-text'], { encoding: 'utf8' });
  t.match(text, /Subject: O = Widget 3000, CN = 04005001A1B2C3D4E5F60718293A4B5C6D7E\n/);
  t.match(text, /Issuer: CN = Keyline Test Issuing CA 01, O = Keyline Test/);
  t.match(text, /Not Before: May 17 13:21:42 2026 GMT/, 'to the second, not the hour');
  t.match(text, /Not After : May 17 13:21:42 2036 GMT/);
  t.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
  t.match(text, /TLS Web Client Authentication/);
  t.match(text, new RegExp(`URI:${crlUrl}`));
  t.match(text, new RegExp(`OCSP - URI:${ocspUrl}`));
  t.equal(cert.notBefore.toISOString(), '2026-05-17T13:21:42.000Z');
  t.equal(cert.notAfter!.toISOString(), '2036-05-17T13:21:42.000Z');

  // The same extensions, in the same order and criticality, as the ATECC608 template issues.
  const atecc = await createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, crlUrl, ocspUrl, validityYears: 10 })
    .issue({ chipSerial: uid.subarray(0, 9), publicKey: deviceKey(), product: 'Widget 3000', issuedAt });
  const ext = (der: Uint8Array) => [...readCertFields(der).extensions.entries()].map(([oid, e]) => [oid, e.critical]);
  t.same(ext(cert.der), ext(atecc.der));
  const f = readCertFields(cert.der);
  t.equal(cert.serialHex, Buffer.from(cert.der.subarray(f.serial.value, f.serial.end)).toString('hex'));
  t.equal(cert.serialHex.length, 32, '16-byte certificate serial, positive');
  t.equal(Buffer.from(cert.der.subarray(f.publicKeyOffset, f.publicKeyOffset + 64)).toString('hex'), Buffer.from(publicKey).toString('hex'));

  // The enrollment service's fast path takes it as this CA's certificate, as it does the 608's.
  const facts = issuingCaFacts(pki.issuingDer, createPublicKey({ key: Buffer.from(pki.issuingDer.subarray(readCertFields(pki.issuingDer).spki.start, readCertFields(pki.issuingDer).spki.end)), format: 'der', type: 'spki' }));
  t.match(checkIssuedFast(cert.der, facts), { serialHex: cert.serialHex });
});

t.test('validity 0: no well-defined expiration; 2050 on: GeneralizedTime', async (t) => {
  const pki = await makeTestPki();
  const issuer = createDerDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 0 });
  const c = await issuer.issue({ chip: 'se050', chipSerial: uid, publicKey: deviceKey(), product: 'P', issuedAt: new Date(Date.UTC(2051, 1, 3, 4, 5, 6)) });
  const f = readCertFields(c.der);
  t.equal(Buffer.from(c.der.subarray(f.notBefore.value, f.notBefore.end)).toString(), '20510203040506Z');
  t.equal(Buffer.from(c.der.subarray(f.notAfter.value, f.notAfter.end)).toString(), '99991231235959Z');
  t.equal(c.notAfter, null);
});

t.test('refusals: an ATECC608 serial, a key that is not 64 bytes, a bad product; another key than the CA\'s', async (t) => {
  const pki = await makeTestPki();
  const issuer = createDerDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 1 });
  const base = { chip: 'se050' as const, chipSerial: uid, publicKey: deviceKey(), product: 'P', issuedAt: new Date() };
  await t.rejects(issuer.issue({ ...base, chipSerial: uid.subarray(0, 9) }), { code: 'INVALID_SERIAL' });
  await t.rejects(issuer.issue({ ...base, publicKey: new Uint8Array(65) }), { code: 'INVALID_PUBLIC_KEY' });
  await t.rejects(issuer.issue({ ...base, product: 'a\u0001b' }), { code: 'VALIDATION_FAILED' });
  t.throws(() => createDerDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 128 }), { code: 'VALIDATION_FAILED' });
  t.throws(() => createDerDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 1, crlUrl: 'http://bad url' }), { code: 'VALIDATION_FAILED' });
  const other = await makeTestPki();
  await t.rejects(createDerDeviceIssuer({ signer: other.signer, issuingCaDer: pki.issuingDer, validityYears: 1 }).issue(base), { code: 'CA_KEY_MISMATCH' });
});

t.test('the chip issuer sends each request to its chip\'s profile (default ATECC608)', async (t) => {
  const pki = await makeTestPki();
  const o = { signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 1 };
  const issuer = createChipDeviceIssuer({ atecc608: createTemplateDeviceIssuer(o), se050: createDerDeviceIssuer(o) });
  const issuedAt = new Date(Date.UTC(2026, 0, 1, 10, 30, 15));
  const se = await issuer.issue({ chip: 'se050', chipSerial: uid, publicKey: deviceKey(), product: 'P', issuedAt });
  t.equal(se.notBefore.toISOString(), '2026-01-01T10:30:15.000Z');
  const at = await issuer.issue({ chipSerial: uid.subarray(0, 9), publicKey: deviceKey(), product: 'P', issuedAt });
  t.equal(at.notBefore.toISOString(), '2026-01-01T10:00:00.000Z', 'the 608 template, on the hour');
  await t.rejects(issuer.issue({ chip: 'atecc608', chipSerial: uid, publicKey: deviceKey(), product: 'P', issuedAt }), { code: 'INVALID_SERIAL' });
});
