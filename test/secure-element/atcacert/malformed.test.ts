/**
 * Bad compressed certificates and certificates the template cannot represent are refused with
 * ATCACERT_INVALID or ATCACERT_TEMPLATE_MISMATCH, never rebuilt into something else.
 */
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { compressCertificate, deviceCertDef, deviceCertDefs, rebuildCertificate, selectCertDef } from '../../../secure-element/atcacert/index.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { makeTestPki } from './ca-fixture.js';

const chipSerial = Uint8Array.from([0x01, 0x23, 0x6a, 0x1b, 0x9c, 0x44, 0x05, 0x77, 0xee]);

t.test('malformed compressed data', async (t) => {
  const pki = await makeTestPki();
  const base = { issuingCaDer: pki.issuingDer, product: 'Widget', validityYears: 10 };
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 10 });
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 64));
  const cert = await issuer.issue({ chipSerial, publicKey, product: 'Widget', issuedAt: new Date('2027-03-04T05:06:07Z') });
  const def = deviceCertDef(base, 'utc-utc');
  const good = compressCertificate(def, cert.der);
  t.ok(Buffer.from(rebuildCertificate(def, { publicKey, compressed: good, chipSerial })).equals(Buffer.from(cert.der)), 'baseline rebuilds');

  const mutate = (f: (c: Uint8Array) => void): Uint8Array => {
    const c = good.slice();
    f(c);
    return c;
  };
  const rebuild = (compressed: Uint8Array, extra: Partial<Parameters<typeof rebuildCertificate>[1]> = {}): Uint8Array =>
    rebuildCertificate(def, { publicKey, compressed, chipSerial, ...extra });

  t.throws(() => rebuild(good.subarray(0, 71)), { code: 'ATCACERT_INVALID' }, 'short');
  t.throws(() => rebuild(Uint8Array.of(...good, 0)), { code: 'ATCACERT_INVALID' }, 'long');
  t.throws(() => rebuild(mutate((c) => (c[69] = (3 << 4) | (c[69]! & 0x0f)))), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'template ID');
  t.throws(() => rebuild(mutate((c) => (c[69] = (c[69]! & 0xf0) | 5))), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'chain ID');
  t.throws(() => rebuild(mutate((c) => (c[70] = (0x8 << 4) | (c[70]! & 0x0f)))), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'serial source');
  t.throws(() => rebuild(mutate((c) => (c[70] = (c[70]! & 0xf0) | 2))), { code: 'ATCACERT_INVALID' }, 'format 2 (larger curves)');
  t.throws(() => rebuild(mutate((c) => (c[70] = (c[70]! & 0xf0) | 7))), { code: 'ATCACERT_INVALID' }, 'unknown format');
  t.throws(() => rebuild(mutate((c) => (c[70] = (c[70]! & 0xf0) | 1))), { code: 'ATCACERT_INVALID' }, 'format 1 the dates do not need');
  t.throws(() => rebuild(mutate((c) => (c[71] = 0x01))), { code: 'ATCACERT_INVALID' }, 'reserved bits');
  t.throws(() => rebuild(mutate((c) => (c[71] = 0x40))), { code: 'ATCACERT_INVALID' }, 'extension bits in format 0');
  t.throws(() => rebuild(mutate((c) => (c[64] = (c[64]! & 0xf8) | 0x07))), { code: 'ATCACERT_INVALID' }, 'month 14/15');
  t.throws(() => rebuild(mutate((c) => (c[65] = c[65]! & 0x83))), { code: 'ATCACERT_INVALID' }, 'day 0');
  t.throws(() => rebuild(mutate((c) => (c[65] = c[65]! | 0x03))), { code: 'ATCACERT_INVALID' }, 'hour 24+');
  t.throws(() => rebuild(mutate((c) => (c[66] = (c[66]! & 0xe0) | 31))), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'expiry in 2058 on a UTCTime template');
  t.throws(() => rebuild(good, { publicKey: publicKey.subarray(1) }), { code: 'ATCACERT_INVALID' }, 'public key length');
  t.throws(() => rebuild(good, { chipSerial: chipSerial.subarray(1) }), { code: 'ATCACERT_INVALID' }, 'chip serial length');
  t.throws(() => rebuildCertificate(def, { publicKey, compressed: good }), { code: 'ATCACERT_INVALID' }, 'chip serial missing');
  t.throws(() => rebuild(mutate((c) => (c[5] = c[5]! ^ 1)), { issuerPublicKey: pki.signer.publicKeyRaw }), { code: 'ATCACERT_INVALID' }, 'signature not on the signer key');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  t.throws(() => rebuild(good, { issuerPublicKey: new Uint8Array(other.subarray(other.length - 64)) }), { code: 'ATCACERT_INVALID' }, 'another signer');
  t.doesNotThrow(() => rebuild(good, { issuerPublicKey: pki.signer.publicKeyRaw }), 'the right signer verifies');
  t.throws(() => selectCertDef(deviceCertDefs(base), mutate((c) => (c[69] = 0xf0))), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'no definition for template 15');
});

t.test('certificates the template cannot represent', async (t) => {
  const pki = await makeTestPki();
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 10 });
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 64));
  const cert = await issuer.issue({ chipSerial, publicKey, product: 'Widget', issuedAt: new Date('2027-03-04T05:06:07Z') });
  const def = deviceCertDef({ issuingCaDer: pki.issuingDer, product: 'Widget', validityYears: 10 }, 'utc-utc');
  const otherProduct = deviceCertDef({ issuingCaDer: pki.issuingDer, product: 'Gadget', validityYears: 10 }, 'utc-utc');
  t.throws(() => compressCertificate(otherProduct, cert.der), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'another product');
  const withCrl = deviceCertDef({ issuingCaDer: pki.issuingDer, product: 'Widget', validityYears: 10, crlUrl: 'http://x/crl' }, 'utc-utc');
  t.throws(() => compressCertificate(withCrl, cert.der), { code: /ATCACERT_/ }, 'another extension set');
  const offHour = cert.der.slice();
  const nb = def.std.issueDate.offset;
  offHour.set(Buffer.from('30'), nb + 9); // minutes 30
  t.throws(() => compressCertificate(def, offHour), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'notBefore not on the hour');
  const tampered = cert.der.slice();
  tampered[def.std.publicKey.offset - 30] ^= 0xff; // inside the subject, outside any element
  t.throws(() => compressCertificate(def, tampered), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'a fixed byte changed');
  const badSn = cert.der.slice();
  badSn[def.std.certSn.offset + 5] ^= 0x01;
  t.throws(() => compressCertificate(def, badSn), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'serial not derived from key and dates');
  t.throws(() => compressCertificate(def, cert.der.subarray(0, cert.der.length - 1)), { code: 'ATCACERT_INVALID' }, 'truncated DER');
  // Every wrong date variant is a template mismatch, never a parse error, so callers can try the next.
  for (const variant of ['utc-gen', 'gen-gen'] as const) {
    t.throws(() => compressCertificate(deviceCertDef({ issuingCaDer: pki.issuingDer, product: 'Widget', validityYears: 10 }, variant), cert.der), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, `variant ${variant}`);
  }
  const cross = await issuer.issue({ chipSerial, publicKey, product: 'Widget', issuedAt: new Date('2045-03-04T05:06:07Z') });
  t.throws(() => compressCertificate(def, cross.der), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'a 2055 notAfter against the UTCTime template');
});
