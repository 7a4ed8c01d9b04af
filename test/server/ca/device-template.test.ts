/**
 * The template device issuer: RFC 5280 device profile, DER-exact, checked with OpenSSL and
 * @peculiar/asn1-x509, validity rules (on the hour, whole years, 99991231235959Z, 2050 switch,
 * 29 February), and its refusals.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import t from 'tap';
import { readCertFields, subjectKeyId } from '../../../secure-element/atcacert/cert-fields.js';
import { DeviceTemplateCache } from '../../../server/ca/device-template.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';
import { makeTestPki, toPem } from '../../secure-element/atcacert/ca-fixture.js';

const chipSerial = Uint8Array.from([0x01, 0x23, 0xab, 0xcd, 0xef, 0x01, 0x02, 0x03, 0xee]);
const crlUrl = 'http://pki.example.test/crl/issuing-01.crl';
const ocspUrl = 'http://pki.example.test/ocsp';

function deviceKey(): Uint8Array {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 64));
}
const timeText = (der: Uint8Array, tlv: { start: number; end: number }): string => `${der[tlv.start]!.toString(16)} ${Buffer.from(der.subarray(tlv.start + 2, tlv.end)).toString()}`;

t.test('device profile, checked by OpenSSL', async (t) => {
  const pki = await makeTestPki();
  const dir = t.testdir({ 'root.pem': pki.rootPem, 'issuing.pem': pki.issuingPem });
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, crlUrl, ocspUrl, validityYears: 10 });
  const publicKey = deviceKey();
  const issuedAt = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 1_234_567); // 20 minutes past an hour
  const cert = await issuer.issue({ chipSerial, publicKey, product: 'Widget 3000', issuedAt });
  writeFileSync(join(dir, 'dev.pem'), toPem(cert.der));
  t.equal(execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), join(dir, 'dev.pem')], { encoding: 'utf8' }).trim(), `${join(dir, 'dev.pem')}: OK`);

  const text = execFileSync('openssl', ['x509', '-in', join(dir, 'dev.pem'), '-noout', '-text'], { encoding: 'utf8' });
  t.match(text, /Version: 3 \(0x2\)/);
  t.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(text, /Issuer: CN = Keyline Test Issuing CA 01, O = Keyline Test/);
  t.match(text, /Subject: O = Widget 3000, CN = 0123ABCDEF010203EE\n/);
  t.match(text, /ASN1 OID: prime256v1/);
  t.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
  t.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/, 'EKU clientAuth, not critical');
  t.match(text, /X509v3 Subject Key Identifier: \n/);
  t.match(text, /X509v3 Authority Key Identifier: \n/);
  t.match(text, new RegExp(`X509v3 CRL Distribution Points: \\n\\s+Full Name:\\n\\s+URI:${crlUrl}`));
  t.match(text, new RegExp(`Authority Information Access: \\n\\s+OCSP - URI:${ocspUrl}`));
  t.notMatch(text, /Basic Constraints/, 'basicConstraints omitted (see device-defs.ts)');
  t.equal((text.match(/critical/g) ?? []).length, 1, 'only keyUsage is critical');

  const f = readCertFields(cert.der);
  const ca = readCertFields(pki.issuingDer);
  t.ok(Buffer.from(cert.der.subarray(f.issuer.start, f.issuer.end)).equals(Buffer.from(pki.issuingDer.subarray(ca.subject.start, ca.subject.end))), 'issuer = CA subject byte for byte');
  t.equal(Buffer.from(subjectKeyId(cert.der, f)!).toString('hex'), createHash('sha1').update(Uint8Array.of(4)).update(publicKey).digest('hex'), 'SKI method 1');
  const aki = f.extensions.get('2.5.29.35')!;
  t.equal(Buffer.from(cert.der.subarray(aki.value.end - 20, aki.value.end)).toString('hex'), Buffer.from(subjectKeyId(pki.issuingDer, ca)!).toString('hex'), 'AKI = CA SKI');
  t.same([...f.extensions.entries()].map(([oid, e]) => [oid, e.critical]), [
    ['2.5.29.15', true],
    ['2.5.29.37', false],
    ['2.5.29.14', false],
    ['2.5.29.35', false],
    ['2.5.29.31', false],
    ['1.3.6.1.5.5.7.1.1', false],
  ]);

  // DER-exact: a schema parse and re-serialisation gives the same bytes.
  t.ok(Buffer.from(AsnConvert.serialize(AsnConvert.parse(cert.der, Certificate))).equals(Buffer.from(cert.der)), 'canonical DER');

  // Serial: SNSRC_PUB_KEY_HASH over key and encoded dates, 16 bytes, 01xxxxxx first byte.
  t.match(cert.serialHex, /^[4-7][0-9a-f]{31}$/);
  t.equal(Buffer.from(cert.der.subarray(f.serial.value, f.serial.end)).toString('hex'), cert.serialHex);
  t.equal(cert.fingerprintSha256, createHash('sha256').update(cert.der).digest('hex'));
  const hour = new Date(Math.floor(issuedAt.getTime() / 3_600_000) * 3_600_000);
  t.equal(cert.notBefore.toISOString(), hour.toISOString(), 'notBefore truncated to the hour');
  const tenYears = new Date(hour);
  tenYears.setUTCFullYear(hour.getUTCFullYear() + 10);
  t.equal(cert.notAfter?.toISOString(), tenYears.toISOString());
  t.match(timeText(cert.der, f.notBefore), /^17 \d{8}0000Z$/);
});

t.test('validity edges', async (t) => {
  const pki = await makeTestPki();
  const issue = async (validityYears: number, at: string) => {
    const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears });
    const cert = await issuer.issue({ chipSerial, publicKey: deviceKey(), product: 'P', issuedAt: new Date(at) });
    const f = readCertFields(cert.der);
    return { cert, nb: timeText(cert.der, f.notBefore), na: timeText(cert.der, f.notAfter), f };
  };
  const never = await issue(0, '2026-11-25T03:47:12Z');
  t.equal(never.nb, '17 261125030000Z');
  t.equal(never.na, '18 99991231235959Z', 'no well-defined expiration, GeneralizedTime (RFC 5280 §4.1.2.5)');
  t.equal(never.cert.notAfter, null);
  t.notOk(never.f.extensions.has('2.5.29.31'), 'no CRL extension without a CRL URL');
  const cross = await issue(1, '2049-12-31T23:59:59Z');
  t.strictSame([cross.nb, cross.na], ['17 491231230000Z', '18 20501231230000Z'], 'UTCTime before 2050, GeneralizedTime from 2050');
  const late = await issue(30, '2050-01-01T00:00:00Z');
  t.strictSame([late.nb, late.na], ['18 20500101000000Z', '18 20800101000000Z']);
  const leap = await issue(1, '2028-02-29T12:34:00Z');
  t.strictSame([leap.nb, leap.na], ['17 280228230000Z', '17 290228230000Z'], '29 February starts at 28 February 23:00 when the end year has no 29th');
  const leap4 = await issue(4, '2028-02-29T12:34:00Z');
  t.strictSame([leap4.nb, leap4.na], ['17 280229120000Z', '17 320229120000Z'], 'kept when the end year is a leap year');
  t.equal(leap.cert.notBefore.toISOString(), '2028-02-28T23:00:00.000Z');
});

t.test('refusals', async (t) => {
  const pki = await makeTestPki();
  const req = { chipSerial, publicKey: deviceKey(), product: 'P', issuedAt: new Date('2030-01-01T00:00:00Z') };
  t.throws(() => createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 128 }), { code: 'VALIDATION_FAILED' });
  t.throws(() => createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 1.5 }), { code: 'VALIDATION_FAILED' });
  t.throws(() => createTemplateDeviceIssuer({ signer: { ...pki.signer, curve: 'P-384' }, issuingCaDer: pki.issuingDer, validityYears: 1 }), { code: 'UNSUPPORTED_CURVE' });
  t.throws(() => createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: Uint8Array.of(1, 2, 3), validityYears: 1 }), { code: 'MALFORMED_DER' });
  const wrongKey = createTemplateDeviceIssuer({ signer: createSoftSigner(), issuingCaDer: pki.issuingDer, validityYears: 1 });
  await t.rejects(wrongKey.issue(req), { code: 'CA_KEY_MISMATCH' });
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 1, crlUrl: 'http://bad url' });
  await t.rejects(issuer.issue(req), { code: 'VALIDATION_FAILED' }, 'URL with a space');
  const ok = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 1 });
  await t.rejects(ok.issue({ ...req, chipSerial: chipSerial.subarray(1) }), { code: 'INVALID_SERIAL' });
  await t.rejects(ok.issue({ ...req, publicKey: Uint8Array.of(4, ...req.publicKey) }), { code: 'INVALID_PUBLIC_KEY' });
  await t.rejects(ok.issue({ ...req, issuedAt: new Date('1999-12-31T23:00:00Z') }), { code: 'VALIDATION_FAILED' });
  await t.rejects(ok.issue({ ...req, issuedAt: new Date('2128-01-01T00:00:00Z') }), { code: 'VALIDATION_FAILED' });
  await t.rejects(ok.issue({ ...req, issuedAt: new Date(NaN) }), { code: 'VALIDATION_FAILED' });
  await t.rejects(ok.issue({ ...req, product: '' }), { code: 'VALIDATION_FAILED' });
  await t.rejects(ok.issue({ ...req, product: 'x'.repeat(65) }), { code: 'VALIDATION_FAILED' });
});

t.test('templates are built once per product and variant', async (t) => {
  const pki = await makeTestPki();
  const cache = new DeviceTemplateCache({ issuingCaDer: pki.issuingDer, validityYears: 5, crlUrl });
  t.equal(cache.get('A', 'utc-utc'), cache.get('A', 'utc-utc'));
  t.not(cache.get('A', 'utc-utc'), cache.get('A', 'utc-gen'));
  t.not(cache.get('A', 'utc-utc'), cache.get('B', 'utc-utc'));
});
