import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createIssuingCa, createRootCa } from '../../../server/ca/profiles.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { DeviceTrust } from '../../../server/enroll/device-trust.js';
import { checkIssuedFast, issuingCaFacts, recordedIssuedFacts } from '../../../server/enroll/issued-cert-check.js';
import { p256FromSeed } from '../../../fuzz/bed.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

/** A root, an issuing CA and its device issuer; `org` names the PKI. */
async function pki(org: string, validityYears: number) {
  const rootSigner = createSoftSigner(undefined, 'soft:root');
  const issuingSigner = createSoftSigner(undefined, 'soft:issuing');
  const root = await createRootCa({ signer: rootSigner, org });
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org });
  const issuingDer = new Uint8Array(issuing.rawData);
  const issuer = createTemplateDeviceIssuer({ signer: issuingSigner, issuingCaDer: issuingDer, crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp', validityYears });
  const issue = async (seed: number, issuedAt = new Date('2026-01-01T00:00:00Z')) =>
    (await issuer.issue({ chipSerial: Buffer.from(`0123${seed.toString(16).padStart(12, '0')}ee`, 'hex'), publicKey: p256FromSeed(seed), product: 'Sensor', issuedAt })).der;
  return { issuingDer, issue };
}

t.test('the fast path learns from an issued certificate what node:crypto learns, in both time forms', async (t) => {
  for (const years of [0, 2]) {
    const { issuingDer, issue } = await pki('Keyline Trust', years);
    const ca = new X509Certificate(Buffer.from(issuingDer));
    const der = await issue(years + 1);
    const fast = checkIssuedFast(der, issuingCaFacts(issuingDer, ca.publicKey));
    const cert = new X509Certificate(Buffer.from(der));
    t.ok(fast, `validityYears ${years}: recognised`);
    t.same(Buffer.from(fast!.publicKey), Buffer.from(p256FromSeed(years + 1)), 'the key');
    t.equal(fast!.serialHex, cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''), 'the serial');
    t.equal(fast!.notBefore, Date.parse(cert.validFrom), 'notBefore');
    t.equal(fast!.notAfter, Date.parse(cert.validTo), 'notAfter');
  }
});

t.test('the fast path declines what it cannot vouch for, and the full check refuses it', async (t) => {
  const mine = await pki('Keyline Trust', 2);
  // Another PKI with the same names: same issuer bytes, another key.
  const twin = await pki('Keyline Trust', 2);
  const ca = new X509Certificate(Buffer.from(mine.issuingDer));
  const facts = issuingCaFacts(mine.issuingDer, ca.publicKey);
  const trust = new DeviceTrust(mine.issuingDer);
  const good = await mine.issue(7);
  const forged = await twin.issue(7);
  t.equal(checkIssuedFast(forged, facts), null, 'a twin CA signature');
  t.throws(() => trust.verify(forged), { code: 'CERTIFICATE_UNTRUSTED' });
  const flipped = Uint8Array.from(good);
  flipped[flipped.length - 40]! ^= 0x01; // inside the signature value
  t.equal(checkIssuedFast(flipped, facts), null, 'a flipped signature bit');
  t.throws(() => trust.verify(flipped), { code: 'CERTIFICATE_UNTRUSTED' });
  t.equal(checkIssuedFast(good.subarray(0, good.length - 1), facts), null, 'a truncated certificate');
  t.equal(checkIssuedFast(new Uint8Array([0x30, 0x00]), facts), null, 'an empty SEQUENCE');
  t.ok(trust.verify(good), 'the genuine one passes');
});

t.test('a remembered certificate is still checked for validity at every hello', async (t) => {
  const { issuingDer, issue } = await pki('Keyline Trust', 2);
  const trust = new DeviceTrust(issuingDer, { cacheEntries: 2 });
  const der = await issue(3, new Date('2026-01-01T00:00:00Z'));
  const inside = new Date('2026-06-01T00:00:00Z');
  const a = trust.verify(der, inside);
  const b = trust.verify(der, inside);
  t.same(b, a, 'the same facts the second time');
  t.match(a.fingerprint, /^[0-9a-f]{64}$/);
  t.throws(() => trust.verify(der, new Date('2025-06-01T00:00:00Z')), { code: 'CERTIFICATE_UNTRUSTED' }, 'not yet valid');
  t.throws(() => trust.verify(der, new Date('2029-06-01T00:00:00Z')), { code: 'CERTIFICATE_UNTRUSTED' }, 'expired');
  // Past the bound: the cache drops the least recently used, the answers stay the same.
  for (const seed of [4, 5, 6]) t.ok(trust.verify(await issue(seed), inside));
  t.same(trust.verify(der, inside), a);
});

t.test("issue 13: a unit's recorded certificate is taken without a signature check only when its AKI names this CA", async (t) => {
  const mine = await pki('Keyline Trust', 2);
  const twin = await pki('Keyline Trust', 2); // same Names, another key: a CA rotated out looks like this
  const ca = new X509Certificate(Buffer.from(mine.issuingDer));
  const facts = issuingCaFacts(mine.issuingDer, ca.publicKey);
  const good = await mine.issue(8);
  const other = await twin.issue(8);
  t.ok(recordedIssuedFacts(good, facts), 'this CA\'s certificate');
  t.equal(recordedIssuedFacts(other, facts), null, 'the twin CA\'s: the full check decides');
  const trust = new DeviceTrust(mine.issuingDer);
  const inside = new Date('2026-06-01T00:00:00Z');
  const fp = trust.remembered(good, inside).fingerprint;
  t.notOk(trust.remembered(good, inside).cert, 'not seen yet');
  t.same(trust.recorded(good, fp, inside), trust.verify(good, inside), 'the same facts as the full check');
  t.ok(trust.remembered(good, inside).cert, 'remembered from then on');
  t.equal(trust.recorded(other, trust.remembered(other).fingerprint, inside), null);
  t.throws(() => trust.verify(other, inside), { code: 'CERTIFICATE_UNTRUSTED' });
  t.throws(() => trust.recorded(good, fp, new Date('2030-01-01T00:00:00Z')), { code: 'CERTIFICATE_UNTRUSTED' }, 'validity still checked');
});
