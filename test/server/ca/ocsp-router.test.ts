/**
 * One OCSP URL for several issuing CAs (issue 19): a request goes to the responder of the issuer
 * its CertID names (same subject name, different keys: told apart by the key hash), another
 * issuer is unauthorized, a malformed request is refused before any responder; counters add up.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import { integerFromHex, NULL, octetString, oid, seq } from '../../../common/der/writer.js';
import { OcspResponder, spkiKeyBits } from '../../../server/ca/ocsp-responder.js';
import { responderIdentity } from '../../../server/ca/ocsp-response.js';
import { OcspRouter } from '../../../server/ca/ocsp-router.js';
import { createIssuingCa, createRootCa } from '../../../server/ca/profiles.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

const rootSigner = createSoftSigner();
const root = await createRootCa({ signer: rootSigner, org: 'T' });
const issuers = await Promise.all([0, 1].map(async (i) => {
  const signer = createSoftSigner();
  const cert = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await signer.publicKeySpki(), org: 'T' });
  const spki = new Uint8Array(cert.publicKey.rawData);
  const nameDer = new Uint8Array(cert.subjectName.toArrayBuffer());
  // Each CA knows only its own serial.
  const responder = new OcspResponder({
    identity: responderIdentity(signer, new Uint8Array(cert.rawData), spki), issuerNameDer: nameDer, issuerSpki: spki,
    lookup: async (s) => (s === `4a0${i}` ? { status: 'good' } : { status: 'unknown' }),
  });
  return { cert, spki, nameDer, responder };
}));
const router = new OcspRouter();
for (const i of issuers) router.add(i.responder);

function request(i: { nameDer: Uint8Array; spki: Uint8Array }, serialHex: string): Buffer {
  const h = (b: Uint8Array) => octetString(createHash('sha1').update(b).digest());
  const certId = seq(seq(oid('1.3.14.3.2.26'), NULL), h(i.nameDer), h(spkiKeyBits(i.spki)), integerFromHex(serialHex));
  return seq(seq(seq(seq(certId))));
}
const status = (der: Buffer) => AsnConvert.parse(der, OCSPResponse).responseStatus;
const responderKeyHash = (der: Buffer) => {
  const basic = AsnConvert.parse(AsnConvert.parse(der, OCSPResponse).responseBytes!.response.buffer, BasicOCSPResponse);
  return Buffer.from(basic.tbsResponseData.responderID.byKey!.buffer).toString('hex');
};

t.test('each CA answers for its own certificates through one router', async (t) => {
  t.same(Buffer.from(issuers[0]!.nameDer), Buffer.from(issuers[1]!.nameDer), 'same subject name: only the key hash tells them apart');
  for (const [n, i] of issuers.entries()) {
    const der = await router.respond(request(i, `4a0${n}`));
    t.equal(status(der), 0, `CA ${n}: successful`);
    t.equal(responderKeyHash(der), createHash('sha1').update(spkiKeyBits(i.spki)).digest('hex'), `signed by CA ${n}`);
  }
  t.equal(status(await router.respond(request(issuers[0]!, '4a01'))), 6, 'a serial of CA 1 asked of CA 0: unauthorized');
  const stranger = { nameDer: issuers[0]!.nameDer, spki: await createSoftSigner().publicKeySpki() };
  t.equal(status(await router.respond(request(stranger, '4a00'))), 6, 'another issuer: unauthorized');
  t.equal(status(await router.respond(Buffer.from('3000', 'hex'))), 1, 'malformed');
  const s = router.stats;
  t.equal(s.signed, 2);
  t.equal(s.refused.unauthorized, 2);
  t.equal(s.refused.malformed, 1);
  t.equal(router.cache.entries, 2);
  router.invalidate('4a00');
  t.equal(router.cache.entries, 1, 'invalidation reaches every responder');
});
