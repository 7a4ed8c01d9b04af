/**
 * The signer (issuing CA) definition is derived from the CA certificate of the key-ceremony profile,
 * round-trips it bit-exactly, and refuses certificates whose dates the compressed form cannot carry.
 */
import t from 'tap';
import { compressCertificate, DateFormat, readCertFields, rebuildCertificate, signerCertDef, SnSource } from '../../../secure-element/atcacert/index.js';
import { makeTestPki } from './ca-fixture.js';


t.test('signer definition round trip (UTCTime dates)', async (t) => {
  const pki = await makeTestPki();
  const def = signerCertDef(pki.issuingDer);
  t.equal(def.snSource, SnSource.STORED, 'serial stays in the template');
  t.equal(def.std.certSn.count, 0);
  t.equal(def.expireYears, 20);
  t.equal(def.issueDateFormat, DateFormat.RFC5280_UTC);
  t.equal(def.std.subjKeyId.count, 20, "x509's SKI is method 1, so it is an element");
  const compressed = compressCertificate(def, pki.issuingDer);
  t.equal(compressed[69], 0x10, 'template 1, chain 0');
  t.equal(compressed[70], 0x00, 'STORED, format 0');
  const rebuilt = rebuildCertificate(def, { publicKey: pki.signer.publicKeyRaw, compressed });
  t.ok(Buffer.from(rebuilt).equals(Buffer.from(pki.issuingDer)), 'bit-exact');
  const root = readCertFields(pki.rootDer);
  const rootKey = pki.rootDer.subarray(root.publicKeyOffset, root.publicKeyOffset + 64);
  t.doesNotThrow(() => rebuildCertificate(def, { publicKey: pki.signer.publicKeyRaw, compressed, issuerPublicKey: rootKey }), 'signature verifies with the root key');
  const tampered = compressed.slice();
  tampered[40] ^= 0x80;
  t.throws(() => rebuildCertificate(def, { publicKey: pki.signer.publicKeyRaw, compressed: tampered, issuerPublicKey: rootKey }), { code: 'ATCACERT_INVALID' });
});

t.test('signer certificate valid past 2050 (GeneralizedTime notAfter)', async (t) => {
  const pki = await makeTestPki({ notBefore: new Date('2040-05-06T07:00:00Z') });
  const def = signerCertDef(pki.issuingDer);
  t.equal(def.expireDateFormat, DateFormat.RFC5280_GEN);
  const compressed = compressCertificate(def, pki.issuingDer);
  t.equal(compressed[70]! & 0x0f, 1, 'format 1 for a 2040 issue year');
  t.ok(Buffer.from(rebuildCertificate(def, { publicKey: pki.signer.publicKeyRaw, compressed })).equals(Buffer.from(pki.issuingDer)));
});

t.test('refuses what cannot be represented bit-exactly', async (t) => {
  const offHour = await makeTestPki({ notBefore: new Date('2026-01-01T10:30:00Z') });
  t.throws(() => signerCertDef(offHour.issuingDer), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'notBefore not on the hour');
  const partYear = await makeTestPki({ notBefore: new Date('2026-01-01T10:00:00Z'), notAfter: new Date('2036-06-01T10:00:00Z') });
  t.throws(() => signerCertDef(partYear.issuingDer), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'not whole years');
  const old = await makeTestPki({ notBefore: new Date('1999-01-01T00:00:00Z') });
  t.throws(() => signerCertDef(old.issuingDer), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'issued before 2000');
  t.throws(() => signerCertDef(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)), { code: 'MALFORMED_DER' }, 'not a certificate');
});
