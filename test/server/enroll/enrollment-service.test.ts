import t from 'tap';
import { createPublicKey, verify } from 'node:crypto';
import { canonicalConfigBytes } from '../../../common/protocol/enrollment.js';
import * as x509 from '../../../common/x509.js';
import { createClientCert } from '../../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../../server/ca/software-key.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';
import { createIssuingCa, createRootCa } from '../../../server/ca/profiles.js';
import { chipDevice } from './device-client.js';
import { makeEnrollBed } from './fixture.js';
import type { Store } from '../../../server/store/store.js';

t.test('signed challenge: enroll, re-authenticate, replay and every refusal', async (t) => {
  const bed = await makeEnrollBed(t, 4);
  const [a, b, c, d] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));

  await t.test('first boot enrolls with the default group and a verifiable signed config', async (t) => {
    const ch = await bed.service.hello(a!.serial, a!.certDer);
    t.match(ch.nonce, /^[0-9a-f]{64}$/);
    t.ok(new Date(ch.expiresAt).getTime() > Date.now());
    const proof = await a!.prove(ch.nonce);
    const res = await bed.service.proof(a!.serial, proof);
    t.equal(res.group, 'default');
    t.same(res.config, { telemetryIntervalS: 60 });
    t.equal(res.reenrolled, false);
    // What the device does: verify the signer certificate's signature over the canonical config.
    const signer = new x509.X509Certificate(Buffer.from(res.configSignerCertificate, 'base64'));
    const key = createPublicKey({ key: Buffer.from(signer.publicKey.rawData), format: 'der', type: 'spki' });
    t.ok(verify('sha256', canonicalConfigBytes(res.config), { key, dsaEncoding: 'der' }, Buffer.from(res.configSignature, 'base64')), 'config signature verifies');
    t.ok(await signer.verify({ publicKey: bed.issuing.cert.publicKey }), 'config signer issued by the issuing CA');
    const rec = await bed.store.transaction((tx) => tx.enrollment.get(a!.serial), { readOnly: true });
    t.match(rec, { serial: a!.serial, counter: proof.counter, group: 'default', method: 'challenge' });
    const audit = await bed.store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 10_000 }), { readOnly: true });
    t.ok(audit.some((r) => r.action === 'device.enrolled' && r.subject === a!.serial));

    await t.test('a captured proof re-sent is refused: its nonce is spent', async (t) => {
      await t.rejects(bed.service.proof(a!.serial, proof), { code: 'NONCE_INVALID' });
    });
  });

  await t.test('second boot re-authenticates: reenrolled, no second enrollment record', async (t) => {
    const before = await bed.store.transaction((tx) => tx.enrollment.get(a!.serial), { readOnly: true });
    const ch = await bed.service.hello(a!.serial, a!.certDer);
    const res = await bed.service.proof(a!.serial, await a!.prove(ch.nonce));
    t.equal(res.reenrolled, true);
    t.same(await bed.store.transaction((tx) => tx.enrollment.get(a!.serial), { readOnly: true }), before);
    t.equal(await bed.store.transaction((tx) => tx.enrollment.lastCounter(a!.serial), { readOnly: true }), before!.counter! + 1);
  });

  await t.test('a counter not above the last one seen is REPLAYED (fresh nonce, valid signature)', async (t) => {
    const last = (await bed.store.transaction((tx) => tx.enrollment.lastCounter(a!.serial), { readOnly: true }))!;
    const ch = await bed.service.hello(a!.serial, a!.certDer);
    await t.rejects(bed.service.proof(a!.serial, await a!.prove(ch.nonce, { counter: last })), { code: 'REPLAYED' });
    // The refused attempt still spent the nonce.
    await t.rejects(bed.service.proof(a!.serial, await a!.prove(ch.nonce)), { code: 'NONCE_INVALID' });
    const audit = await bed.store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 10_000 }), { readOnly: true });
    const refused = audit.filter((r) => r.action === 'device.enroll-refused' && r.subject === a!.serial);
    t.equal(refused.length, 1, 'the replay is in the audit log');
    t.same(JSON.parse(refused[0]!.detail!), { code: 'REPLAYED', counter: last });
  });

  await t.test('a wrong signature is SIGNATURE_INVALID and spends the nonce', async (t) => {
    const ch = await bed.service.hello(b!.serial, b!.certDer);
    const p = await b!.prove(ch.nonce);
    const bad = { ...p, counter: p.counter + 1 }; // signed bytes differ from what the chip signed
    await t.rejects(bed.service.proof(b!.serial, bad), { code: 'SIGNATURE_INVALID' });
    await t.rejects(bed.service.proof(b!.serial, p), { code: 'NONCE_INVALID' });
  });

  await t.test("another device's nonce is NONCE_INVALID", async (t) => {
    const ch = await bed.service.hello(b!.serial, b!.certDer);
    await t.rejects(bed.service.proof(c!.serial, await c!.prove(ch.nonce)), { code: 'NONCE_INVALID' });
    await t.rejects(bed.service.proof(c!.serial, await c!.prove('ab'.repeat(32))), { code: 'NONCE_INVALID' });
  });

  await t.test('an expired nonce is NONCE_INVALID', async (t) => {
    let now = Date.now();
    const svc = bed.serviceWith({ now: () => new Date(now), nonceTtlSeconds: 30 });
    const ch = await svc.hello(b!.serial, b!.certDer);
    now += 31_000;
    await t.rejects(svc.proof(b!.serial, await b!.prove(ch.nonce)), { code: 'NONCE_INVALID' });
  });

  await t.test("another unit's certificate is KEY_MISMATCH; an unprovisioned serial is UNKNOWN_DEVICE", async (t) => {
    await t.rejects(bed.service.hello(b!.serial, c!.certDer), { code: 'KEY_MISMATCH' });
    await t.rejects(bed.service.hello('0123FFFFFFFFFFFFEE', c!.certDer), { code: 'UNKNOWN_DEVICE' });
  });

  await t.test('a certificate from another PKI is CERTIFICATE_UNTRUSTED', async (t) => {
    const rs = createSoftSigner();
    const root = await createRootCa({ signer: rs, org: 'Keyline Test' });
    const is = createSoftSigner();
    const issuing = await createIssuingCa({ root: { signer: rs, cert: root }, subjectSpki: await is.publicKeySpki(), org: 'Keyline Test' });
    const k = generateSoftwareKey();
    const foreign = await createClientCert({ issuer: { signer: is, cert: issuing }, stationId: b!.serial, org: 'Keyline Test', spki: k.spki });
    await t.rejects(bed.service.hello(b!.serial, new Uint8Array(foreign.rawData)), { code: 'CERTIFICATE_UNTRUSTED' });
    await t.rejects(bed.service.hello(b!.serial, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])), { code: 'CERTIFICATE_UNTRUSTED' });
  });

  await t.test('unconfirmed, quarantined and revoked units are refused with their codes', async (t) => {
    const at = new Date().toISOString();
    await bed.store.transaction((tx) => tx.units.setStatus(c!.serial, 'issued', { at }));
    await t.rejects(bed.service.hello(c!.serial, c!.certDer), { code: 'UNIT_NOT_CONFIRMED' });
    await bed.store.transaction((tx) => tx.units.setStatus(c!.serial, 'quarantined', { at, reason: 'test' }));
    await t.rejects(bed.service.hello(c!.serial, c!.certDer), { code: 'UNIT_NOT_CONFIRMED' });
    await bed.store.transaction((tx) => tx.units.setStatus(c!.serial, 'revoked', { at, reason: 'test' }));
    await t.rejects(bed.service.hello(c!.serial, c!.certDer), { code: 'DEVICE_REVOKED' });
    await t.rejects(bed.service.enrollVerified(c!.serial), { code: 'DEVICE_REVOKED' });

    // Revoked through the revocation list only (unit still 'confirmed'), between hello and proof.
    const ch = await bed.service.hello(d!.serial, d!.certDer);
    const unit = (await bed.store.transaction((tx) => tx.units.getBySerial(d!.serial), { readOnly: true }))!;
    await bed.store.transaction((tx) => tx.revocations.add({ certificateSerial: unit.certificateSerial, kind: 'device', subject: d!.serial, reason: 'keyCompromise', revokedAt: at, revokedBy: 'test' }));
    await t.rejects(bed.service.proof(d!.serial, await d!.prove(ch.nonce)), { code: 'DEVICE_REVOKED' });
    await t.rejects(bed.service.hello(d!.serial, d!.certDer), { code: 'DEVICE_REVOKED' });
  });
});

t.test('groups: first matching rule wins; mTLS path records method and no counter', async (t) => {
  const bed = await makeEnrollBed(t, 2);
  const [a, b] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  const svc = bed.serviceWith({
    groups: [
      { match: { workOrder: 'WO-9' }, group: 'never', config: {} },
      { match: { product: 'Sensor', workOrder: 'WO-1' }, group: 'sensors-wo1', config: { b: 2, a: [1, { z: true, y: null }] } },
      { match: { product: 'Sensor' }, group: 'sensors', config: {} },
    ],
  });
  const ch = await svc.hello(a!.serial, a!.certDer);
  const res = await svc.proof(a!.serial, await a!.prove(ch.nonce));
  t.equal(res.group, 'sensors-wo1');
  t.same(res.config, { b: 2, a: [1, { z: true, y: null }] });
  const m = await svc.enrollVerified(b!.serial);
  t.equal(m.group, 'sensors-wo1');
  t.equal(m.reenrolled, false);
  t.match(await bed.store.transaction((tx) => tx.enrollment.get(b!.serial), { readOnly: true }), { method: 'mtls', counter: null });
  t.equal((await svc.enrollVerified(b!.serial)).reenrolled, true);
});

t.test("verifiedEnrollment: the mTLS enrollment in the caller's transaction, undone with it; a refusal is thrown", async (t) => {
  const bed = await makeEnrollBed(t, 2);
  const [a, b] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  const recorded = async (serial: string) => ({
    enrollment: await bed.store.transaction((tx) => tx.enrollment.get(serial), { readOnly: true }),
    audit: (await bed.store.transaction((tx) => tx.audit.listBySubject([serial], 50), { readOnly: true })).map((r) => r.action).filter((x) => x.startsWith('device.')),
  });

  // Resolved before the transaction; a later throw in that transaction takes the enrollment with it.
  const enroll = await bed.service.verifiedEnrollment(a!.serial);
  await t.rejects(bed.store.transaction(async (tx) => {
    t.match(await enroll(tx), { type: 'enrolled', serial: a!.serial, group: 'default', reenrolled: false, configSignature: String });
    t.match(await tx.enrollment.get(a!.serial), { method: 'mtls' }, 'visible inside the transaction');
    throw new Error('the caller refuses');
  }), /the caller refuses/);
  t.same(await recorded(a!.serial), { enrollment: null, audit: [] }, 'nothing left of it');

  const res = await bed.store.transaction(await bed.service.verifiedEnrollment(a!.serial));
  t.match(res, { group: 'default', reenrolled: false }, 'committed with the caller: the first enrollment');
  t.match(await recorded(a!.serial), { enrollment: { serial: a!.serial, method: 'mtls', counter: null }, audit: ['device.enrolled'] });

  await bed.store.transaction((tx) => tx.units.setStatus(b!.serial, 'revoked', { at: new Date().toISOString(), reason: 'test' }));
  await t.rejects(bed.store.transaction(await bed.service.verifiedEnrollment(b!.serial)), { code: 'DEVICE_REVOKED' });
  t.same(await recorded(b!.serial), { enrollment: null, audit: [] });
});

t.test("verifiedEnrollment signs the group's configuration before the caller's write transaction, not under its lock", async (t) => {
  const bed = await makeEnrollBed(t, 2);
  const [a, b] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  let writing = false;
  let reads = 0;
  const signedWhile: boolean[] = [];
  const store: Store = {
    transaction: async (fn, opts) => {
      if (opts?.readOnly) return (reads++, bed.store.transaction(fn, opts));
      return bed.store.transaction(async (tx) => {
        writing = true;
        try {
          return await fn(tx);
        } finally {
          writing = false;
        }
      }, opts);
    },
    close: () => bed.store.close(),
  };
  const configSigner = { certificateDer: bed.configSigner.certificateDer, sign: (config: Record<string, unknown>) => (signedWhile.push(writing), bed.configSigner.sign(config)) };
  const svc = bed.serviceWith({ store, configSigner, groups: [{ match: { product: 'Sensor' }, group: 'sensors', config: { interval: 5 } }] });

  const res = await store.transaction(await svc.verifiedEnrollment(a!.serial));
  t.match(res, { group: 'sensors', config: { interval: 5 }, reenrolled: false, configSignature: String });
  t.same(signedWhile, [false], 'signed once, with no write transaction open');
  // Kept per document: the next device of the group is not signed for again.
  await store.transaction(await svc.verifiedEnrollment(b!.serial));
  t.same(signedWhile, [false]);
  // An unknown serial signs nothing and is refused inside the transaction.
  await t.rejects(store.transaction(await svc.verifiedEnrollment('01' + 'ab'.repeat(8))), { code: 'UNKNOWN_DEVICE' });
  t.same(signedWhile, [false]);

  // With every group's document signed (here the default group alone), nothing is read for it.
  const only = bed.serviceWith({ store, configSigner, groups: [] });
  reads = 0;
  t.match(await store.transaction(await only.verifiedEnrollment(a!.serial)), { group: 'default', reenrolled: true });
  t.equal(reads, 1, 'the first one reads the unit to sign its group');
  t.same(signedWhile, [false, false]);
  reads = 0;
  t.match(await store.transaction(await only.verifiedEnrollment(b!.serial)), { group: 'default', reenrolled: true });
  t.equal(reads, 0, 'then no read');
  t.same(signedWhile, [false, false]);
});
