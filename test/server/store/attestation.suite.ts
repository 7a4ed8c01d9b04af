/**
 * The issue 15 part of the Store suite: a work order names its chip and whether its units need
 * key-origin evidence; SE050 units (36-digit serials) are stored and enrolled like ATECC608 units;
 * a unit's evidence is kept with it and read back as written. Run by store.suite.ts against every
 * implementation (SQLite and PostgreSQL, so migration 012 on both).
 */
import type { Test } from 'tap';
import type { Store, UnitAttestationRecord } from '../../../server/store/store.js';
import { buildUnit, buildWorkOrder } from './build.js';

const SE050_SERIAL = '04005001' + 'A1B2C3D4E5F60718293A4B5C6D7E';
const AT = '2026-01-01T00:00:00.000Z';

function evidence(serial: string, over: Partial<UnitAttestationRecord> = {}): UnitAttestationRecord {
  return {
    serial, chip: 'se050', format: 'se05x-attested-read', status: 'verified', reason: null,
    evidence: { applet: '3.1', objectId: 0x20000001, freshness: '00'.repeat(16), command: '8022', response: '41', attestationCertificate: '30' },
    facts: { uid: serial, origin: 2, policy: [{ authId: 0, ar: 0x10200000 }], rootSubject: 'CN=Root' }, recordedAt: AT, ...over,
  };
}

/** The issue 15 tests. */
export function attestationSuite(t: Test, open: () => Promise<Store>): void {
  const withStore = async (t: Test) => {
    const store = await open();
    t.teardown(() => store.close());
    return store;
  };

  t.test('work orders (issue 15): chip and requireAttestation round-trip, defaults atecc608 and false', async (t) => {
    const store = await withStore(t);
    await store.transaction(async (tx) => {
      t.match(await tx.workOrders.create(buildWorkOrder({ id: 'WO-608' })), { chip: 'atecc608', requireAttestation: false });
      t.match(await tx.workOrders.create(buildWorkOrder({ id: 'WO-SE', chip: 'se050', requireAttestation: true })), { chip: 'se050', requireAttestation: true });
    });
    const [a, b] = await store.transaction((tx) => Promise.all([tx.workOrders.get('WO-608'), tx.workOrders.get('WO-SE')]));
    t.match(a, { chip: 'atecc608', requireAttestation: false });
    t.match(b, { chip: 'se050', requireAttestation: true });
    t.match(await store.transaction((tx) => tx.workOrders.getMany(['WO-SE'])), [{ chip: 'se050', requireAttestation: true }]);
    t.match((await store.transaction((tx) => tx.workOrders.list())).find((w) => w.id === 'WO-SE'), { chip: 'se050' });
  });

  t.test('SE050 units: 36-digit serials stored, enrolled and paged; other lengths refused by the database', async (t) => {
    const store = await withStore(t);
    await store.transaction((tx) => tx.workOrders.create(buildWorkOrder({ chip: 'se050' })));
    const unit = buildUnit({ serial: SE050_SERIAL });
    await store.transaction((tx) => tx.units.insert(unit));
    t.match(await store.transaction((tx) => tx.units.getBySerial(SE050_SERIAL)), { serial: SE050_SERIAL });
    // Enrollment state keyed by the serial: nonce, counter, enrollment.
    await store.transaction(async (tx) => {
      await tx.enrollment.addNonce({ nonce: 'ab'.repeat(32), serial: SE050_SERIAL, certFingerprint: 'cd'.repeat(32), expiresAt: AT });
      await tx.enrollment.setLastCounter(SE050_SERIAL, 5, AT);
      await tx.enrollment.insert({ serial: SE050_SERIAL, counter: 5, group: 'g', method: 'challenge', at: AT });
    });
    t.match(await store.transaction((tx) => tx.enrollment.useNonce('ab'.repeat(32))), { serial: SE050_SERIAL, certFingerprint: 'cd'.repeat(32), expiresAt: AT, used: false });
    // Spent by that first use: read again whole, as used; an unknown nonce is null.
    t.match(await store.transaction((tx) => tx.enrollment.useNonce('ab'.repeat(32))), { nonce: 'ab'.repeat(32), serial: SE050_SERIAL, certFingerprint: 'cd'.repeat(32), expiresAt: AT, used: true });
    t.equal(await store.transaction((tx) => tx.enrollment.useNonce('ef'.repeat(32))), null);
    t.equal(await store.transaction((tx) => tx.enrollment.lastCounter(SE050_SERIAL)), 5);
    const other = buildUnit();
    await store.transaction((tx) => tx.units.insert(other));
    const page1 = await store.transaction((tx) => tx.units.list({ limit: 1 }));
    const page2 = await store.transaction((tx) => tx.units.list({ limit: 1, cursor: page1.nextCursor! }));
    t.same([...page1.units, ...page2.units].map((u) => u.serial).sort(), [other.serial, SE050_SERIAL].sort(), 'a cursor after either length pages on');
    for (const serial of ['0'.repeat(20), '0'.repeat(35), 'a'.repeat(36)]) {
      await t.rejects(store.transaction((tx) => tx.units.insert(buildUnit({ serial }))), { code: 'STORE_ERROR' }, `${serial} refused`);
    }
  });

  t.test('key-origin evidence: written with the unit, read back as written, one record per unit', async (t) => {
    const store = await withStore(t);
    await store.transaction((tx) => tx.workOrders.create(buildWorkOrder({ chip: 'se050' })));
    const unit = buildUnit({ serial: SE050_SERIAL });
    const atecc = buildUnit();
    const bad = evidence(atecc.serial, { chip: 'atecc608', format: 'atecc608-unattested', status: 'unattested', reason: 'no manufacturer key signs an ATECC608 report', facts: null, evidence: { configZone: '00'.repeat(128) } });
    await store.transaction(async (tx) => {
      await tx.units.insertMany([unit, atecc]);
      await tx.attestations.insertMany([evidence(unit.serial), bad]);
      await tx.attestations.insertMany([]);
    });
    t.same(await store.transaction((tx) => tx.attestations.get(unit.serial)), evidence(unit.serial));
    t.same(await store.transaction((tx) => tx.attestations.get(atecc.serial)), bad);
    t.equal(await store.transaction((tx) => tx.attestations.get('0'.repeat(18))), null);
    await t.rejects(store.transaction((tx) => tx.attestations.insertMany([evidence(unit.serial)])), 'a second record for the unit is refused');
    await t.rejects(store.transaction((tx) => tx.attestations.insertMany([evidence('0'.repeat(36))])), 'evidence of no unit is refused');
    await t.rejects(store.transaction(async (tx) => {
      const u = buildUnit();
      await tx.units.insert(u);
      await tx.attestations.insertMany([evidence(u.serial, { status: 'bogus' as 'verified' })]);
    }), 'an unknown status is refused');
  });
}
