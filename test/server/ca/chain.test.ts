import t from 'tap';
import { isSelfSigned, verifyChain, verifyIssuingCa } from '../../../server/ca/chain.js';
import { createIssuingCa, createRootCa, createClientCert } from '../../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../../server/ca/software-key.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

const NOW = new Date('2026-06-01T10:00:00Z');

async function pki(org: string) {
  const rootSigner = createSoftSigner();
  const issuingSigner = createSoftSigner();
  const root = await createRootCa({ signer: rootSigner, org, now: NOW });
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org, now: NOW });
  const station = await createClientCert({ issuer: { signer: issuingSigner, cert: issuing }, stationId: 's1', org, spki: generateSoftwareKey().spki, now: NOW });
  return { root, issuing, station, rootSigner, issuingSigner };
}

t.test('a good chain verifies; the root is self-signed', async (t) => {
  const a = await pki('Acme');
  t.ok(isSelfSigned(a.root));
  t.notOk(isSelfSigned(a.issuing));
  verifyIssuingCa(a.issuing, a.root, NOW);
  verifyChain(a.station, [a.issuing], a.root, NOW);
  t.pass('verified');
});

t.test('refuses with CHAIN_INVALID', async (t) => {
  const a = await pki('Acme');
  const b = await pki('Acme'); // same names, other keys: only the signature tells them apart
  t.throws(() => verifyIssuingCa(a.issuing, b.root, NOW), { code: 'CHAIN_INVALID' });
  t.throws(() => verifyChain(a.station, [b.issuing], a.root, NOW), { code: 'CHAIN_INVALID' });
  t.throws(() => verifyChain(a.station, [a.issuing], a.root, new Date('2031-01-01T00:00:00Z')), { code: 'CHAIN_INVALID' }, 'station certificate expired');
  t.throws(() => verifyChain(a.station, [a.issuing], a.root, new Date('2026-06-01T09:59:59Z')), { code: 'CHAIN_INVALID' }, 'not yet valid');
  t.throws(() => verifyIssuingCa(a.station, a.root, NOW), { code: 'CHAIN_INVALID' }, 'a leaf is not a CA');
  t.throws(() => verifyIssuingCa(a.issuing, a.issuing, NOW), { code: 'CHAIN_INVALID' }, 'the root must be self-signed');
  t.throws(() => verifyChain(a.station, [], a.root, NOW), { code: 'CHAIN_INVALID' }, 'missing intermediate');
  // pathlen 0 on the issuing CA (RFC 5280 §4.2.1.9): no CA may sit below it.
  const subSigner = createSoftSigner();
  const sub = await createIssuingCa({ root: { signer: a.issuingSigner, cert: a.issuing }, subjectSpki: await subSigner.publicKeySpki(), org: 'Sub', now: NOW });
  const leaf = await createClientCert({ issuer: { signer: subSigner, cert: sub }, stationId: 's2', org: 'Sub', spki: generateSoftwareKey().spki, now: NOW });
  t.throws(() => verifyChain(leaf, [sub, a.issuing], a.root, NOW), { code: 'CHAIN_INVALID', message: /pathLenConstraint/ });
});
