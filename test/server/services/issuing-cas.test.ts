/**
 * The issuing CA set (issue 19) over a real store: the first configured CA issues until an
 * activation row says otherwise (now or at a later time), a CA activated but not loaded is loaded
 * on demand (or issuance is refused, CA_UNKNOWN), each certificate gets its own CA's chain, the
 * root CRL revokes a CA for issuance (CA_REVOKED) only when the root signed it, and the lifetime
 * report warns at the configured thresholds.
 */
import t from 'tap';
import { join } from 'node:path';
import { toPem } from '../../../common/pem.js';
import { issueCrl, crlIssuerOf } from '../../../server/ca/crl.js';
import type { DeviceIssuer } from '../../../server/ca/device-issuer.js';
import { caKeyId } from '../../../server/ca/key-id.js';
import { createClientCert, createIssuingCa, createRootCa } from '../../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../../server/ca/software-key.js';
import { IssuingCas, type LoadedCa } from '../../../server/services/issuing-cas.js';
import { openStore } from '../../../server/store/open-store.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

const NOW = new Date('2030-01-01T00:00:00Z');
let clock = NOW;
const rootSigner = createSoftSigner();
const root = await createRootCa({ signer: rootSigner, org: 'T', now: new Date('2029-01-01T00:00:00Z') });
const strangerSigner = createSoftSigner();

/** An issuing CA valid `years` from 2029 whose device issuer returns a certificate of its own (with its AKI). */
async function ca(years: number): Promise<LoadedCa & { issued: () => Promise<Uint8Array> }> {
  const signer = createSoftSigner();
  const cert = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await signer.publicKeySpki(), org: 'T', years, now: new Date('2029-01-01T00:00:00Z') });
  const der = new Uint8Array(cert.rawData);
  const issued = async () => new Uint8Array((await createClientCert({ issuer: { signer, cert }, stationId: 'd', org: 'T', spki: generateSoftwareKey().spki, now: NOW })).rawData);
  const issuer: DeviceIssuer = { issue: async () => { const d = await issued(); return { der: d, serialHex: '1', fingerprintSha256: 'f', notBefore: NOW, notAfter: null }; } };
  return { keyId: caKeyId(cert), cert, der, signer, issuer, crlUrl: 'http://x/crl', chainPem: toPem(der) + toPem(new Uint8Array(root.rawData)), issued };
}
const a = await ca(20);
const b = await ca(1); // expires 2030-01-01: under every threshold at NOW + a little
const c = await ca(20);
const req = { chipSerial: new Uint8Array(9), publicKey: new Uint8Array(64), product: 'p', issuedAt: NOW };

t.test('activation rows switch the issuing CA; a CA not loaded is loaded on demand or refused', async (t) => {
  const store = await openStore(`sqlite:${join(t.testdir(), 'k.db')}`);
  t.teardown(() => store.close());
  let loads = 0;
  const set = new IssuingCas({ root, cas: [a, b], store, clock: () => clock, load: async (k) => (loads++, k === c.keyId ? c : null) });
  await set.refresh();
  t.equal(set.active()?.keyId, a.keyId, 'the first configured CA until an activation');
  await store.transaction((tx) => tx.ca.addActivation({ keyId: b.keyId, activateAt: '2030-01-01T00:00:10Z', actor: 't' }));
  await set.refresh();
  t.equal(set.active()?.keyId, a.keyId, 'scheduled: not yet');
  clock = new Date('2030-01-01T00:00:10Z');
  await set.refresh();
  t.equal(set.active()?.keyId, b.keyId, 'at its time');
  t.equal(set.chainFor(await a.issued()), a.chainPem, 'a certificate of A gets A\'s chain');
  t.equal(set.chainFor(await b.issued()), b.chainPem);
  t.equal(set.chainFor(), b.chainPem, 'no certificate: the active chain');

  await store.transaction((tx) => tx.ca.addActivation({ keyId: c.keyId, activateAt: clock.toISOString(), actor: 't' }));
  await set.refresh();
  t.equal(set.active()?.keyId, c.keyId, 'loaded on demand');
  t.equal(loads, 1);
  t.same(set.all().map((x) => x.keyId), [a.keyId, b.keyId, c.keyId]);

  await store.transaction((tx) => tx.ca.addActivation({ keyId: 'ff'.repeat(20), activateAt: clock.toISOString(), actor: 't' }));
  await set.refresh();
  await t.rejects(set.issuer().issue(req), { code: 'CA_UNKNOWN' }, 'an activated CA nobody can load: nothing issues (not the CA switched away from)');
  t.equal(set.status().ok, false);
});

t.test('the root CRL: a CA it lists never issues; a CRL the root did not sign is ignored', async (t) => {
  clock = NOW;
  const store = await openStore(`sqlite:${join(t.testdir(), 'k.db')}`);
  t.teardown(() => store.close());
  const set = new IssuingCas({ root, cas: [a, b], store, clock: () => clock });
  await set.refresh();
  const entry = { serialHex: a.cert.serialNumber.toLowerCase().replace(/^0+/, ''), revokedAt: NOW, reason: 'keyCompromise' as const };
  const forged = await issueCrl({ ...crlIssuerOf(new Uint8Array(root.rawData), rootSigner), signer: strangerSigner }, { number: 5, thisUpdate: NOW, nextUpdate: new Date('2031-01-01T00:00:00Z'), entries: [entry] });
  await store.transaction((tx) => tx.ca.saveRootCrl({ number: 5, thisUpdate: NOW.toISOString(), nextUpdate: '2031-01-01T00:00:00.000Z', der: forged }));
  await set.refresh();
  t.ok(await set.issuer().issue(req), 'a forged root CRL in the table changes nothing');
  const real = await issueCrl(crlIssuerOf(new Uint8Array(root.rawData), rootSigner), { number: 6, thisUpdate: NOW, nextUpdate: new Date('2031-01-01T00:00:00Z'), entries: [entry] });
  await store.transaction((tx) => tx.ca.saveRootCrl({ number: 6, thisUpdate: NOW.toISOString(), nextUpdate: '2031-01-01T00:00:00.000Z', der: real }));
  await set.refresh();
  await t.rejects(set.issuer().issue(req), { code: 'CA_REVOKED' });
  t.equal(set.rootCrl()?.number, 6);
  const report = set.status();
  t.equal(report.ok, false);
  t.match(report.cas.find((x) => x.keyId === a.keyId), { active: true, revoked: { reason: 'keyCompromise' } });
  // Switching to B issues again.
  await store.transaction((tx) => tx.ca.addActivation({ keyId: b.keyId, activateAt: NOW.toISOString(), actor: 't' }));
  await set.refresh();
  t.ok(await set.issuer().issue(req));
});

t.test('lifetime warnings at the thresholds; the root CRL nearing its next update', async (t) => {
  clock = new Date('2029-11-15T00:00:00Z');
  const store = await openStore(`sqlite:${join(t.testdir(), 'k.db')}`);
  t.teardown(() => store.close());
  const set = new IssuingCas({ root, cas: [a, b], store, clock: () => clock, thresholdsDays: [180, 90, 30], rootCrlWarningDays: 30 });
  await set.refresh();
  const r = set.status();
  t.equal(r.cas.find((x) => x.keyId === b.keyId)?.warningDays, 90, 'B: 47 days left, under 90 (not yet under 30)');
  t.equal(r.cas.find((x) => x.keyId === a.keyId)?.warningDays, null);
  t.ok(r.warnings.some((w) => w.key === `lifetime:${b.keyId}:90`));
  t.ok(r.warnings.some((w) => w.key === 'root-crl:none'), 'no root CRL imported');
  const crl = await issueCrl(crlIssuerOf(new Uint8Array(root.rawData), rootSigner), { number: 1, thisUpdate: clock, nextUpdate: new Date('2029-12-01T00:00:00Z'), entries: [] });
  await store.transaction((tx) => tx.ca.saveRootCrl({ number: 1, thisUpdate: clock.toISOString(), nextUpdate: '2029-12-01T00:00:00.000Z', der: crl }));
  await set.refresh();
  t.match(set.status().rootCrl, { number: 1, daysLeft: 16, warning: true });
  t.ok(set.status().ok, 'warnings alone do not stop issuance');
});
