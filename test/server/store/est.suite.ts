/**
 * The EST part of the Store suite (issue 17): a re-enrollment moves the unit's certificate into
 * the superseded list and writes its successor in one step, refused on a stale expectation or a
 * key another unit holds; enrollment requests awaiting approval are keyed by label and public
 * key, keep their first serial and decision, and are listed by status, label and serial. Run by
 * store.suite.ts against every implementation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import type { Store } from '../../../server/store/store.js';
import { buildUnit, buildWorkOrder } from './build.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

function successor() {
  const der = randomBytes(48);
  return { publicKey: randomBytes(64), certificateDer: der, fingerprintSha256: createHash('sha256').update(der).digest('hex'), certificateSerial: randomBytes(12).toString('hex') };
}

/** The EST tests. */
export function estSuite(t: Test, open: () => Promise<Store>): void {
  const withStore = async (t: Test) => {
    const store = await open();
    t.teardown(() => store.close());
    await store.transaction(async (tx) => { await tx.workOrders.create(buildWorkOrder()); });
    return store;
  };

  t.test('superseded certificates (issue 17): the unit gets its successor, the old certificate is kept', async (t) => {
    const store = await withStore(t);
    const unit = buildUnit({ status: 'confirmed' });
    await store.transaction((tx) => tx.units.insert(unit));
    const next = successor();
    const moved = await store.transaction((tx) => tx.superseded.supersede(unit.serial, unit.certificateSerial, next, T1));
    t.match(moved, { certificateSerial: unit.certificateSerial, serial: unit.serial, fingerprintSha256: unit.fingerprintSha256, supersededAt: T1, supersededBy: next.certificateSerial });
    t.same(Buffer.from(moved.publicKey), Buffer.from(unit.publicKey));
    t.same(Buffer.from(moved.certificateDer), Buffer.from(unit.certificateDer));
    const now = (await store.transaction((tx) => tx.units.getBySerial(unit.serial)))!;
    t.match(now, { certificateSerial: next.certificateSerial, fingerprintSha256: next.fingerprintSha256, status: 'confirmed', issuedAt: unit.issuedAt, updatedAt: T1 });
    t.same(Buffer.from(now.publicKey), Buffer.from(next.publicKey));
    t.equal(await store.transaction((tx) => tx.units.getByCertificateSerial(unit.certificateSerial)), null, 'the old certificate no longer names the unit');
    t.match(await store.transaction((tx) => tx.superseded.get(unit.certificateSerial)), { serial: unit.serial });
    t.equal(await store.transaction((tx) => tx.superseded.get('00')), null);
    t.same((await store.transaction((tx) => tx.superseded.findByPublicKey(unit.publicKey))).map((r) => r.certificateSerial), [unit.certificateSerial]);
    t.same(await store.transaction((tx) => tx.superseded.findByPublicKey(next.publicKey)), []);

    // A second re-enrollment: the list grows in order.
    const third = successor();
    await store.transaction((tx) => tx.superseded.supersede(unit.serial, next.certificateSerial, third, '2026-01-03T00:00:00.000Z'));
    t.same((await store.transaction((tx) => tx.superseded.listFor(unit.serial), { readOnly: true })).map((r) => r.certificateSerial), [unit.certificateSerial, next.certificateSerial]);
  });

  t.test('superseding is refused on a stale certificate, an unknown unit, or a key another unit holds; nothing is written', async (t) => {
    const store = await withStore(t);
    const [a, b] = [buildUnit(), buildUnit()];
    await store.transaction(async (tx) => { await tx.units.insert(a); await tx.units.insert(b); });
    await t.rejects(store.transaction((tx) => tx.superseded.supersede(a.serial, 'ffff', successor(), T1)), { code: 'STORE_ERROR' });
    await t.rejects(store.transaction((tx) => tx.superseded.supersede('0123FFFFFFFFFFFFEE', a.certificateSerial, successor(), T1)), { code: 'UNKNOWN_UNIT' });
    await t.rejects(store.transaction((tx) => tx.superseded.supersede(a.serial, a.certificateSerial, { ...successor(), publicKey: b.publicKey }, T1)), { code: 'DUPLICATE_KEY' });
    t.same(await store.transaction((tx) => tx.superseded.listFor(a.serial)), [], 'the refused move was rolled back');
    t.equal((await store.transaction((tx) => tx.units.getBySerial(a.serial)))!.certificateSerial, a.certificateSerial);
  });

  t.test('enrollment requests (issue 17): one per label and key, the newest CSR kept, decided once', async (t) => {
    const store = await withStore(t);
    const key = randomBytes(64);
    const req = { label: 'line1', publicKey: key, serial: '0123456789ABCDEF01', csrDer: Buffer.from([1]), requestedBy: 'est.line1', requestedAt: T0 };
    t.equal(await store.transaction((tx) => tx.enrollmentRequests.get('line1', key)), null);
    t.match(await store.transaction((tx) => tx.enrollmentRequests.upsert(req)), { label: 'line1', serial: req.serial, status: 'pending', decidedBy: null, requestedAt: T0 });
    const again = await store.transaction((tx) => tx.enrollmentRequests.upsert({ ...req, csrDer: Buffer.from([2]), requestedAt: T1, serial: '0123456789ABCDEF02' }));
    t.match(again, { status: 'pending', requestedAt: T0, serial: req.serial }, 'the first request stands');
    t.same(Buffer.from(again.csrDer), Buffer.from([2]), 'with the newest CSR');
    // Another label, same key: a request of its own.
    await store.transaction((tx) => tx.enrollmentRequests.upsert({ ...req, label: 'line2', serial: '0123456789ABCDEF03' }));
    t.equal(await store.transaction((tx) => tx.enrollmentRequests.decide('line1', key, 'approved', 'operator-01', T1)), true);
    t.equal(await store.transaction((tx) => tx.enrollmentRequests.decide('line1', key, 'rejected', 'operator-01', T1)), false, 'decided once');
    t.equal(await store.transaction((tx) => tx.enrollmentRequests.decide('line9', key, 'approved', 'operator-01', T1)), false);
    t.match(await store.transaction((tx) => tx.enrollmentRequests.get('line1', key)), { status: 'approved', decidedBy: 'operator-01', decidedAt: T1 });
    t.match(await store.transaction((tx) => tx.enrollmentRequests.upsert({ ...req, csrDer: Buffer.from([3]) })), { status: 'approved' }, 'a retry keeps the decision');
    const list = (q: { status?: 'pending' | 'approved' | 'rejected'; label?: string; serial?: string }) =>
      store.transaction((tx) => tx.enrollmentRequests.list({ ...q, limit: 10 }), { readOnly: true });
    t.same((await list({ status: 'pending' })).map((r) => r.label), ['line2']);
    t.same((await list({ label: 'line1' })).map((r) => r.status), ['approved']);
    t.same((await list({ serial: '0123456789ABCDEF03' })).map((r) => r.label), ['line2']);
    t.equal((await list({})).length, 2);
  });
}
