/**
 * Issue 13: the grouped enrollment writes keep issue 7's guarantees across replicas. Two
 * enrollment services, each on its own PgStore (two server processes) on one database, answer
 * the hellos and proofs of a fleet at once, each grouping its own writes: every nonce is spent
 * once, a counter is accepted once, each device has one enrollment record, the audit chain is
 * whole, and no group fails on the other replica's locks.
 */
import { createHash, sign } from 'node:crypto';
import t, { type Test } from 'tap';
import { enrollmentSignedBytes } from '../../../common/protocol/enrollment.js';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import { createIssuingCa, createRootCa, createConfigSignerCert } from '../../../server/ca/profiles.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { configSignerOf } from '../../../server/enroll/config-signer.js';
import { DeviceTrust } from '../../../server/enroll/device-trust.js';
import { createEnrollmentService, type EnrollmentService } from '../../../server/enroll/enrollment-service.js';
import { PgStore } from '../../../server/store/postgres/pg-store.js';
import { p256FromSeed, p256PrivateFromSeed, serialOf } from '../../../fuzz/bed.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';
import { buildUnit, buildWorkOrder } from '../store/build.js';

const skip = pgSkipReason();

/** `n` confirmed units with real certificates, and two replicas' services over one database. */
async function twoReplicas(t: Test, n: number) {
  const rootSigner = createSoftSigner(undefined, 'soft:root');
  const issuingSigner = createSoftSigner(undefined, 'soft:issuing');
  const root = await createRootCa({ signer: rootSigner, org: 'Keyline PG' });
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org: 'Keyline PG' });
  const issuingDer = new Uint8Array(issuing.rawData);
  const issuer = createTemplateDeviceIssuer({ signer: issuingSigner, issuingCaDer: issuingDer, crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp', validityYears: 0 });
  const csSigner = createSoftSigner(undefined, 'soft:config-signer');
  const csCert = await createConfigSignerCert({ issuer: { signer: issuingSigner, cert: issuing }, org: 'Keyline PG', spki: await csSigner.publicKeySpki() });
  const configSigner = configSignerOf(csSigner, new Uint8Array(csCert.rawData));

  const url = await freshPgDatabase();
  const a = await PgStore.open(url, { pool: 5 });
  const b = await PgStore.open(url, { pool: 5 });
  t.teardown(async () => { await a.close(); await b.close(); });
  const devices: Array<{ serial: string; certDer: Uint8Array; seed: number }> = [];
  await a.transaction(async (tx) => {
    await tx.workOrders.create(buildWorkOrder({ quota: n }));
    for (let seed = 1; seed <= n; seed++) {
      const serial = serialOf(seed);
      const cert = await issuer.issue({ chipSerial: Buffer.from(serial, 'hex'), publicKey: p256FromSeed(seed), product: 'Sensor', issuedAt: new Date() });
      await tx.units.insert(buildUnit({
        serial, publicKey: p256FromSeed(seed), certificateDer: cert.der, certificateSerial: cert.serialHex, fingerprintSha256: cert.fingerprintSha256,
        status: 'confirmed', confirmedAt: new Date().toISOString(),
      }));
      devices.push({ serial, certDer: cert.der, seed });
    }
  });
  const service = (store: PgStore): EnrollmentService => createEnrollmentService({
    store, trust: new DeviceTrust(issuingDer), configSigner, groups: [], defaultGroup: { group: 'default', config: { x: 1 } }, nonceTtlSeconds: 60,
  });
  return { a, both: [service(a), service(b)] as const, devices };
}

/** The device's proof for `nonce` at `counter`, signed as its chip would. */
function prove(d: { serial: string; certDer: Uint8Array; seed: number }, nonce: string, counter: number) {
  const signed = enrollmentSignedBytes({ nonce: Buffer.from(nonce, 'hex'), counter, serial: Buffer.from(d.serial, 'hex'), certFingerprint: createHash('sha256').update(d.certDer).digest() });
  return { nonce, counter, signature: sign('sha256', signed, { key: p256PrivateFromSeed(d.seed), dsaEncoding: 'ieee-p1363' }).toString('hex') };
}

t.test('grouped enrollment on two PostgreSQL replicas', { skip }, async (t) => {
  const { a, both: [ra, rb], devices } = await twoReplicas(t, 24);

  await t.test('a fleet enrolls with hellos and proofs split across the replicas', async (t) => {
    const r = await Promise.allSettled(devices.map(async (d, i) => {
      const [hello, proof] = i % 2 ? [ra, rb] : [rb, ra];
      const ch = await hello.hello(d.serial, d.certDer);
      return proof.proof(d.serial, prove(d, ch.nonce, 10));
    }));
    t.same(r.map((x) => x.status), devices.map(() => 'fulfilled'));
    const rows = await a.transaction(async (tx) => Promise.all(devices.map((d) => tx.enrollment.get(d.serial))), { readOnly: true });
    t.ok(rows.every((row) => row?.counter === 10), 'one enrollment record each, with its counter');
  });

  await t.test('the same proof at both replicas at once: one wins, the other finds the nonce spent', async (t) => {
    const proofs = await Promise.all(devices.map(async (d) => prove(d, (await ra.hello(d.serial, d.certDer)).nonce, 11)));
    const r = await Promise.allSettled(devices.flatMap((d, i) => [ra.proof(d.serial, proofs[i]!), rb.proof(d.serial, proofs[i]!)]));
    for (let i = 0; i < devices.length; i++) {
      const pair = [r[2 * i]!, r[2 * i + 1]!];
      t.equal(pair.filter((x) => x.status === 'fulfilled').length, 1, `${devices[i]!.serial}: one proof accepted`);
      t.match(pair.find((x) => x.status === 'rejected'), { reason: { code: 'NONCE_INVALID' } });
    }
  });

  await t.test('one counter on two fresh nonces at the two replicas: accepted once, REPLAYED once', async (t) => {
    const r = await Promise.allSettled(devices.map(async (d) => {
      const [na, nb] = await Promise.all([ra.hello(d.serial, d.certDer), rb.hello(d.serial, d.certDer)]);
      return Promise.allSettled([ra.proof(d.serial, prove(d, na.nonce, 12)), rb.proof(d.serial, prove(d, nb.nonce, 12))]);
    }));
    for (const x of r) {
      const pair = (x as PromiseFulfilledResult<PromiseSettledResult<unknown>[]>).value;
      t.equal(pair.filter((p) => p.status === 'fulfilled').length, 1, 'one accepted');
      t.match(pair.find((p) => p.status === 'rejected'), { reason: { code: 'REPLAYED' } });
    }
    const last = await a.transaction(async (tx) => Promise.all(devices.map((d) => tx.enrollment.lastCounter(d.serial))), { readOnly: true });
    t.ok(last.every((c) => c === 12));
  });

  t.test('the audit chain is whole', async (t) => {
    const v = await verifyAuditChain(a);
    t.ok(v.ok, JSON.stringify(v));
    const audit = await a.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 10_000 }), { readOnly: true });
    t.equal(audit.filter((x) => x.action === 'device.enrolled').length, devices.length, 'one device.enrolled per device');
    t.equal(audit.filter((x) => x.action === 'device.enroll-refused').length, devices.length, 'each replayed counter audited');
  });
});
