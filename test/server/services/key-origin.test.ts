/**
 * Issue 15, key-origin attestation at the server: an SE050's attested read of its new key, made by
 * the emulated chip for the request it comes with, verified against the configured manufacturer
 * root and recorded with the unit. Valid, tampered, another root, evidence of another request or
 * another chip, none when the work order requires it; the ATECC608's unattested report; a work
 * order's chip checked against the serial; requireAttestation only where it can be met.
 */
import t, { type Test } from 'tap';
import { attestationFreshness, type KeyOriginEvidence } from '../../../common/protocol/key-origin.js';
import { createManufacturerRoot } from '../../../common/se05x/manufacturer-root.js';
import { InProcessApduTransport } from '../../../emulator/se050/in-process-apdu-transport.js';
import { evidenceWire } from '../../../secure-element/attestation-wire.js';
import { provisioningConfigZone } from '../../../secure-element/provisioning-config.js';
import { Se05xDevice } from '../../../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../../../secure-element/se05x/se05x-secure-element.js';
import { createChipDeviceIssuer } from '../../../server/ca/chip-device-issuer.js';
import { createDerDeviceIssuer } from '../../../server/ca/der-device-issuer.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { createProvisioning } from '../../../server/services/provisioning.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { OPERATOR } from '../../helpers/actors.js';
import { issueReq } from '../../helpers/requests.js';
import { makeTestPki } from '../../secure-element/atcacert/ca-fixture.js';
import { newChip, testRoot } from '../../emulator/se050/helpers.js';
import { p256Key } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function setup(t: Test, opts: { roots?: 'test' | 'other' | 'none' } = {}) {
  const store = new SqliteStore(`${t.testdir()}/k.db`);
  t.teardown(() => store.close());
  const pki = await makeTestPki();
  const o = { signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 0 };
  const issuer = createChipDeviceIssuer({ atecc608: createTemplateDeviceIssuer(o), se050: createDerDeviceIssuer(o) });
  const roots = opts.roots === 'none' ? [] : opts.roots === 'other' ? [(await createManufacturerRoot({ org: 'Elsewhere' })).certDer] : [(await testRoot()).certDer];
  const prov = createProvisioning({ store, issuer, manufacturerRoots: roots });
  if (roots.length) await prov.createWorkOrder({ id: 'WO-SE-REQ', product: 'Sensor', quota: 10, chip: 'se050', requireAttestation: true }, 'operator-01');
  await prov.createWorkOrder({ id: 'WO-SE', product: 'Sensor', quota: 10, chip: 'se050' }, 'operator-01');
  await prov.createWorkOrder({ id: 'WO-608', product: 'Sensor', quota: 10 }, 'operator-01');
  return { store, prov };
}

/** A fresh SE050 with its key made, and its evidence for the request (serial, work order, idempotency key). */
async function se050Unit(workOrder: string, idempotencyKey = 'idem-1') {
  const se = new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(await newChip())));
  await se.prepare();
  const publicKey = await se.generateKey();
  const serial = (await se.identity()).serialHex;
  const evidence = evidenceWire(await se.attest(attestationFreshness({ serial, workOrder, idempotencyKey })));
  return { se, serial, publicKey: hex(publicKey), evidence, body: { serial, publicKey: hex(publicKey), workOrder, idempotencyKey, attestation: evidence } };
}

t.test('valid evidence: issued on a work order that requires it; recorded with the unit, audited, shown', async (t) => {
  const { prov, store } = await setup(t);
  const u = await se050Unit('WO-SE-REQ');
  const r = await prov.issueUnit(issueReq(u.body), 'station-01');
  t.match(r, { serial: u.serial, replayed: false });
  const rec = await store.transaction((tx) => tx.attestations.get(u.serial));
  t.match(rec, { chip: 'se050', format: 'se05x-attested-read', status: 'verified', reason: null, facts: { uid: u.serial, objectId: 0x20000001, origin: 2, policy: [{ authId: 0, ar: 0x10200000 }], rootSubject: /SE050 Manufacturer Root/ } });
  t.same(rec!.evidence, u.evidence, 'the evidence as received');
  t.match(await prov.getUnit(u.serial, OPERATOR), { keyOrigin: { chip: 'se050', status: 'verified', reason: null } });
  const audit = await store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 100 }));
  t.match(JSON.parse(audit.find((a) => a.action === 'unit.issued')!.detail!), { keyOrigin: 'verified' });
  // A retry with the same idempotency key replays; the evidence stays the first one.
  t.match(await prov.issueUnit(issueReq(u.body), 'station-01'), { replayed: true });
});

t.test('tampered evidence: refused where required (ATTESTATION_INVALID), recorded as invalid where not', async (t) => {
  const { prov, store } = await setup(t);
  const u = await se050Unit('WO-SE-REQ');
  const e = u.evidence as Extract<KeyOriginEvidence, { format: 'se05x-attested-read' }>;
  // One bit of the attested key's point, inside the signed data.
  const flipped = e.response.slice(0, 20) + (parseInt(e.response[20]!, 16) ^ 1).toString(16) + e.response.slice(21);
  await t.rejects(prov.issueUnit(issueReq({ ...u.body, attestation: { ...e, response: flipped } }), 'station-01'), { code: 'ATTESTATION_INVALID', message: /signature does not verify|not the publicKey/ });
  const sig = e.response.slice(0, -4) + (e.response.endsWith('00') ? 'ff' : '00') + e.response.slice(-2);
  await t.rejects(prov.issueUnit(issueReq({ ...u.body, attestation: { ...e, response: sig } }), 'station-01'), { code: 'ATTESTATION_INVALID' });
  await t.rejects(prov.getUnit(u.serial, OPERATOR), { code: 'UNKNOWN_UNIT' }, 'nothing was issued');

  const v = await se050Unit('WO-SE');
  const ve = v.evidence as typeof e;
  const bad = ve.response.slice(0, 20) + (parseInt(ve.response[20]!, 16) ^ 1).toString(16) + ve.response.slice(21);
  t.match(await prov.issueUnit(issueReq({ ...v.body, attestation: { ...ve, response: bad } }), 'station-01'), { serial: v.serial });
  t.match(await store.transaction((tx) => tx.attestations.get(v.serial)), { status: 'invalid', reason: /SE050 attestation: |not the publicKey/ });
});

t.test('another manufacturer root: refused', async (t) => {
  const { prov, store } = await setup(t, { roots: 'other' });
  await prov.createWorkOrder({ id: 'WO-OTHER', product: 'Sensor', quota: 10, chip: 'se050', requireAttestation: true }, 'operator-01');
  const u = await se050Unit('WO-OTHER');
  await t.rejects(prov.issueUnit(issueReq(u.body), 'station-01'), { code: 'ATTESTATION_INVALID', message: /not issued by a trusted manufacturer root/ });
  const w = await se050Unit('WO-SE');
  await prov.issueUnit(issueReq(w.body), 'station-01');
  t.match(await store.transaction((tx) => tx.attestations.get(w.serial)), { status: 'invalid', reason: /not issued by a trusted manufacturer root/ });
});

t.test('missing evidence where required: refused; evidence made for another request or chip: refused', async (t) => {
  const { prov } = await setup(t);
  const u = await se050Unit('WO-SE-REQ');
  const { attestation: _none, ...bare } = u.body;
  await t.rejects(prov.issueUnit(issueReq(bare), 'station-01'), { code: 'ATTESTATION_INVALID', message: /carries no evidence/ });
  // The same chip's evidence, made for another idempotency key: not this request's freshness.
  await t.rejects(prov.issueUnit(issueReq({ ...u.body, idempotencyKey: 'idem-2' }), 'station-01'), { code: 'ATTESTATION_INVALID', message: /freshness/ });
  // Another chip's (genuine) evidence sent with this chip's serial and key.
  const other = await se050Unit('WO-SE-REQ');
  await t.rejects(prov.issueUnit(issueReq({ ...u.body, attestation: other.evidence }), 'station-01'), { code: 'ATTESTATION_INVALID', message: /freshness|names chip|not the publicKey/ });
  // Genuine evidence for a key, with another key in the request.
  const f = await se050Unit('WO-SE-REQ', 'idem-x');
  await t.rejects(prov.issueUnit(issueReq({ ...f.body, publicKey: p256Key().hex }), 'station-01'), { code: 'ATTESTATION_INVALID', message: /not the publicKey/ });
  // And the genuine one goes through.
  t.match(await prov.issueUnit(issueReq(u.body), 'station-01'), { serial: u.serial });
});

t.test('the work order\'s chip: serial length and evidence kind must match it', async (t) => {
  const { prov } = await setup(t);
  const u = await se050Unit('WO-608');
  await t.rejects(prov.issueUnit(issueReq({ ...u.body, attestation: undefined }), 'station-01'), { code: 'INVALID_SERIAL', message: /not an atecc608 serial \(18 hex digits\)/ });
  await t.rejects(prov.issueUnit(issueReq({ serial: '0123456789ABCDEF01', publicKey: p256Key().hex, workOrder: 'WO-SE' }), 'station-01'), { code: 'INVALID_SERIAL', message: /not an se050 serial \(36 hex digits\)/ });
  await t.rejects(prov.issueUnit(issueReq({ serial: '0123456789ABCDEF01', publicKey: p256Key().hex, workOrder: 'WO-608', attestation: u.evidence }), 'station-01'), { code: 'ATTESTATION_INVALID', message: /on work order 'WO-608', whose chip is atecc608/ });
});

t.test('ATECC608: its report is recorded as unattested (what the station read), a contradicting one as invalid', async (t) => {
  const { prov, store } = await setup(t);
  const serialBytes = Buffer.from('0123456789ABCDEF01', 'hex');
  const config = provisioningConfigZone(Uint8Array.of(...serialBytes.subarray(0, 4), 0, 0, 0x60, 0x03, ...serialBytes.subarray(4), 0, 0, 0));
  config.set([0x00, 0x00], 86); // config and data zones locked
  const attestation = { format: 'atecc608-unattested' as const, configZone: hex(config) };
  await prov.issueUnit(issueReq({ serial: '0123456789ABCDEF01', publicKey: p256Key().hex, workOrder: 'WO-608', attestation }), 'station-01');
  t.match(await store.transaction((tx) => tx.attestations.get('0123456789ABCDEF01')), { chip: 'atecc608', status: 'unattested', reason: /no manufacturer attestation key/, facts: { serial: '0123456789ABCDEF01', configLocked: true } });
  await prov.issueUnit(issueReq({ serial: '0123456789ABCDEF02', publicKey: p256Key().hex, workOrder: 'WO-608', attestation }), 'station-01');
  t.match(await store.transaction((tx) => tx.attestations.get('0123456789ABCDEF02')), { status: 'invalid', reason: /config zone is chip 0123456789ABCDEF01's/ });
});

t.test('requireAttestation only where it can be met: never on an ATECC608, not without a manufacturer root', async (t) => {
  const { prov } = await setup(t);
  await t.rejects(prov.createWorkOrder({ id: 'WO-X', product: 'P', quota: 1, requireAttestation: true }, 'operator-01'), { code: 'VALIDATION_FAILED', message: /ATECC608 carries no manufacturer attestation key/ });
  const none = await setup(t, { roots: 'none' });
  await t.rejects(none.prov.createWorkOrder({ id: 'WO-X', product: 'P', quota: 1, chip: 'se050', requireAttestation: true }, 'operator-01'), { code: 'VALIDATION_FAILED', message: /ca\.manufacturerRoots/ });
  t.match(await prov.getWorkOrder('WO-SE-REQ', OPERATOR), { chip: 'se050', requireAttestation: true });
  t.match(await prov.getWorkOrder('WO-608', OPERATOR), { chip: 'atecc608', requireAttestation: false });
});
