/**
 * Reading CRLs back (issue 19): what issueCrl writes is read as written (number, dates, AKI,
 * entries and reasons, GeneralizedTime past 2049), the signature checks against the right key
 * only, and anything that is not a CertificateList is CRL_INVALID.
 */
import t from 'tap';
import { issueCrl } from '../../../server/ca/crl.js';
import { parseCrl } from '../../../server/ca/crl-info.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

const signer = createSoftSigner();
const other = createSoftSigner();
// Name: CN=Test CA
const nameDer = Buffer.from('3012311030' + '0e06035504030c0754657374204341', 'hex');
const issuer = { signer, nameDer, keyIdHex: '0a0b0c0d' };
const thisUpdate = new Date('2026-11-25T10:00:00Z');

t.test('what issueCrl writes is read back', async (t) => {
  const der = await issueCrl(issuer, {
    number: 300, thisUpdate, nextUpdate: new Date('2051-01-01T00:00:00Z'),
    entries: [
      { serialHex: '4a1b', revokedAt: thisUpdate, reason: 'keyCompromise' },
      { serialHex: 'ff00112233445566778899aabbccddeeff', revokedAt: new Date('2026-01-02T03:04:05Z'), reason: 'unspecified' },
      { serialHex: '5', revokedAt: thisUpdate, reason: 'cACompromise' },
    ],
  });
  const crl = parseCrl(der);
  t.equal(crl.number, 300);
  t.equal(crl.authorityKeyIdHex, '0a0b0c0d');
  t.same(Buffer.from(crl.issuerNameDer), nameDer);
  t.equal(crl.thisUpdate.toISOString(), thisUpdate.toISOString());
  t.equal(crl.nextUpdate?.toISOString(), '2051-01-01T00:00:00.000Z', 'GeneralizedTime past 2049');
  t.same(crl.entries().map((e) => [e.serialHex, e.reason, e.revokedAt.toISOString()]), [
    ['4a1b', 'keyCompromise', thisUpdate.toISOString()],
    ['ff00112233445566778899aabbccddeeff', 'unspecified', '2026-01-02T03:04:05.000Z'],
    ['5', 'cACompromise', thisUpdate.toISOString()],
  ]);
  t.ok(crl.signedBy(await signer.publicKeySpki()));
  t.notOk(crl.signedBy(await other.publicKeySpki()), 'another key does not verify it');
  const tampered = Buffer.from(der);
  tampered[tampered.length - 10]! ^= 1;
  t.notOk(parseCrl(tampered).signedBy(await signer.publicKeySpki()));
});

t.test('an empty CRL has no entries', async (t) => {
  const crl = parseCrl(await issueCrl(issuer, { number: 1, thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + 1000), entries: [] }));
  t.same(crl.entries(), []);
  t.equal(crl.number, 1);
});

t.test('not a CRL: CRL_INVALID', async (t) => {
  t.throws(() => parseCrl(Buffer.from('3003020101', 'hex')), { code: 'CRL_INVALID' });
  t.throws(() => parseCrl(Buffer.from('hello')), { code: 'CRL_INVALID' });
  const der = await issueCrl(issuer, { number: 2, thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + 1000), entries: [] });
  t.throws(() => parseCrl(Buffer.concat([der, Buffer.of(0)])), { code: 'CRL_INVALID' }, 'trailing bytes');
});
