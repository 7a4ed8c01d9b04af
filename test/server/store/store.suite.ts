/**
 * The Store conformance suite: every Store implementation (SQLite now, PostgreSQL later) runs it
 * through its own harness, as MQTT.js' abstract_store and aedes-persistence's abstract.js do.
 */
import type { Test } from 'tap';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import type { Store } from '../../../server/store/store.js';
import { buildUnit, buildWorkOrder } from './build.js';
import { batchSuite } from './batch.suite.js';
import { registriesSuite } from './registries.suite.js';
import { caSuite } from './ca.suite.js';
import { estSuite } from './est.suite.js';
import { attestationSuite } from './attestation.suite.js';
import { oversightSuite } from './oversight.suite.js';

/** What an implementation provides: a fresh store, and raw access that bypasses the Store code. */
export interface StoreHarness {
  open(): Promise<Store>;
  raw: {
    /** Inserts a unit row with plain SQL (no repo code) reusing a given public key (hex). */
    insertUnitWithKey(serial: string, publicKeyHex: string, workOrder: string): Promise<void>;
    /** Plain SQL UPDATE / DELETE on audit_log with the triggers in place (must fail). */
    updateAudit(seq: number, action: string): Promise<void>;
    deleteAudit(seq: number): Promise<void>;
    /** Drops the append-only triggers and rewrites one record's action (an attacker with file access). */
    tamperAudit(seq: number, action: string): Promise<void>;
  };
}

/** Runs the shared Store tests against one implementation. */
export function storeSuite(t: Test, h: StoreHarness): void {
  const withStore = async (t: Test) => {
    const store = await h.open();
    t.teardown(() => store.close());
    await store.transaction(async (tx) => { await tx.workOrders.create(buildWorkOrder()); });
    return store;
  };

  t.test('work orders: create, get, duplicate id, quota enforced by the database', async (t) => {
    const store = await withStore(t);
    const wo = await store.transaction((tx) => tx.workOrders.get('WO-1'));
    t.match(wo, { id: 'WO-1', product: 'Sensor', quota: 10, issued: 0, status: 'open', stations: null });
    await t.rejects(store.transaction((tx) => tx.workOrders.create(buildWorkOrder())), { code: 'WORK_ORDER_EXISTS' });
    await store.transaction((tx) => tx.workOrders.create(buildWorkOrder({ id: 'WO-2', quota: 2, stations: ['s1', 's2'] })));
    t.same((await store.transaction((tx) => tx.workOrders.get('WO-2')))?.stations, ['s1', 's2']);
    await store.transaction((tx) => tx.workOrders.incrementIssued('WO-2', 2));
    await t.rejects(store.transaction((tx) => tx.workOrders.incrementIssued('WO-2')), { code: 'QUOTA_EXCEEDED' });
    await t.rejects(store.transaction((tx) => tx.workOrders.incrementIssued('nope')), { code: 'UNKNOWN_WORK_ORDER' });
    t.equal(await store.transaction((tx) => tx.workOrders.get('nope')), null);
  });

  t.test('units: insert, lookups, uniqueness as typed errors', async (t) => {
    const store = await withStore(t);
    const u = buildUnit();
    await store.transaction((tx) => tx.units.insert(u));
    const bySerial = await store.transaction((tx) => tx.units.getBySerial(u.serial));
    t.same(Buffer.from(bySerial!.publicKey), Buffer.from(u.publicKey));
    t.same(Buffer.from(bySerial!.certificateDer), Buffer.from(u.certificateDer));
    t.equal((await store.transaction((tx) => tx.units.getByPublicKey(u.publicKey)))?.serial, u.serial);
    await t.rejects(store.transaction((tx) => tx.units.insert(buildUnit({ serial: u.serial }))), { code: 'SERIAL_EXISTS' });
    await t.rejects(store.transaction((tx) => tx.units.insert(buildUnit({ publicKey: u.publicKey }))), { code: 'DUPLICATE_KEY' });
    await t.rejects(store.transaction((tx) => tx.units.insert(buildUnit({ certificateSerial: u.certificateSerial }))), { code: 'SERIAL_EXISTS' });
    await t.rejects(store.transaction((tx) => tx.units.insert(buildUnit({ workOrder: 'nope' }))), { code: 'UNKNOWN_WORK_ORDER' });
    // Lowercase or short serials never reach the table, whatever the code above it does.
    await t.rejects(store.transaction((tx) => tx.units.insert(buildUnit({ serial: '0123abcdef01234567' }))), { code: 'STORE_ERROR' });
  });

  t.test('uniqueness holds for SQL that bypasses the store code', async (t) => {
    const store = await withStore(t);
    const u = buildUnit();
    await store.transaction((tx) => tx.units.insert(u));
    await t.rejects(h.raw.insertUnitWithKey('0123FFFFFFFFFFFFEE', Buffer.from(u.publicKey).toString('hex'), 'WO-1'));
    t.equal(await store.transaction((tx) => tx.units.getBySerial('0123FFFFFFFFFFFFEE')), null);
  });

  t.test('rollback on throw leaves nothing; the tx is unusable afterwards', async (t) => {
    const store = await withStore(t);
    const u = buildUnit();
    let leaked: Parameters<Parameters<Store['transaction']>[0]>[0] | undefined;
    await t.rejects(
      store.transaction(async (tx) => {
        leaked = tx;
        await tx.units.insert(u);
        await tx.workOrders.incrementIssued('WO-1');
        await tx.audit.append({ action: 'unit.issued', actor: 's', subject: u.serial });
        throw new Error('boom');
      }),
      { message: 'boom' },
    );
    t.equal(await store.transaction((tx) => tx.units.getBySerial(u.serial)), null);
    t.equal((await store.transaction((tx) => tx.workOrders.get('WO-1')))?.issued, 0);
    t.equal(await store.transaction((tx) => tx.audit.count()), 0);
    await t.rejects(leaked!.units.getBySerial(u.serial), { code: 'STORE_ERROR' });
  });

  t.test('transactions are serialised even when bodies await', async (t) => {
    const store = await withStore(t);
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        store.transaction(async (tx) => {
          order.push(`${name}>`);
          await new Promise((r) => setTimeout(r, 5));
          await tx.audit.append({ action: 'x', actor: name });
          order.push(`<${name}`);
        }),
      ),
    );
    t.same(order, ['a>', '<a', 'b>', '<b', 'c>', '<c']);
    t.match(await verifyAuditChain(store), { ok: true, count: 3 });
  });

  t.test('list: filters and cursor paging visit every unit once, in serial order', async (t) => {
    const store = await withStore(t);
    await store.transaction(async (tx) => {
      await tx.workOrders.create(buildWorkOrder({ id: 'WO-2' }));
      for (let i = 0; i < 25; i++) await tx.units.insert(buildUnit({ workOrder: i % 2 ? 'WO-2' : 'WO-1', status: i % 5 ? 'issued' : 'confirmed' }));
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.transaction((tx) => tx.units.list({ limit: 7, ...(cursor ? { cursor } : {}) }));
      seen.push(...page.units.map((u) => u.serial));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    t.equal(pages, 4);
    t.equal(new Set(seen).size, 25);
    t.same(seen, [...seen].sort());
    const wo2 = await store.transaction((tx) => tx.units.list({ workOrder: 'WO-2', limit: 100 }));
    t.equal(wo2.units.length, 12);
    t.equal(wo2.nextCursor, null);
    const confirmed = await store.transaction((tx) => tx.units.list({ workOrder: 'WO-1', status: 'confirmed' }));
    t.ok(confirmed.units.length > 0 && confirmed.units.every((u) => u.workOrder === 'WO-1' && u.status === 'confirmed'));
    await t.rejects(store.transaction((tx) => tx.units.list({ cursor: 'garbage!' })), { code: 'VALIDATION_FAILED' });
    await t.rejects(store.transaction((tx) => tx.units.list({ limit: 0 })), { code: 'VALIDATION_FAILED' });
  });

  t.test('units.setStatus and stations.upsert', async (t) => {
    const store = await withStore(t);
    const u = buildUnit();
    await store.transaction((tx) => tx.units.insert(u));
    await store.transaction((tx) => tx.units.setStatus(u.serial, 'confirmed', { at: '2026-01-02T00:00:00.000Z', confirmedAt: '2026-01-02T00:00:00.000Z' }));
    t.match(await store.transaction((tx) => tx.units.getBySerial(u.serial)), { status: 'confirmed', confirmedAt: '2026-01-02T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' });
    await t.rejects(store.transaction((tx) => tx.units.setStatus('0123000000000000EE', 'revoked', { at: 'x' })), { code: 'UNKNOWN_UNIT' });
    const first = await store.transaction((tx) => tx.stations.upsert({ id: 's1', fingerprint: 'aa', role: 'station', createdAt: '2026-01-01T00:00:00.000Z' }));
    const again = await store.transaction((tx) => tx.stations.upsert({ id: 's1', fingerprint: 'bb', role: 'operator', createdAt: '2026-02-01T00:00:00.000Z' }));
    t.equal(first.createdAt, again.createdAt);
    t.match(again, { fingerprint: 'bb', role: 'operator' });
    for (const role of ['security-officer', 'auditor'] as const) {
      t.match(await store.transaction((tx) => tx.stations.upsert({ id: role, fingerprint: 'cc', role, createdAt: '2026-02-01T00:00:00.000Z' })), { role });
    }
  });

  t.test('work orders: list newest first, update quota and stations', async (t) => {
    const store = await withStore(t);
    await store.transaction((tx) => tx.workOrders.create(buildWorkOrder({ id: 'WO-2', createdAt: '2027-01-01T00:00:00.000Z' })));
    t.same((await store.transaction((tx) => tx.workOrders.list(), { readOnly: true })).map((w) => w.id), ['WO-2', 'WO-1']);
    await store.transaction((tx) => tx.workOrders.update('WO-2', { quota: 3 }));
    t.match(await store.transaction((tx) => tx.workOrders.get('WO-2')), { quota: 3, stations: null });
    await store.transaction((tx) => tx.workOrders.update('WO-2', { stations: ['s1'] }));
    t.match(await store.transaction((tx) => tx.workOrders.get('WO-2')), { quota: 3, stations: ['s1'] });
    await store.transaction((tx) => tx.workOrders.update('WO-2', { quota: 4, stations: null }));
    t.match(await store.transaction((tx) => tx.workOrders.get('WO-2')), { quota: 4, stations: null });
    await t.rejects(store.transaction((tx) => tx.workOrders.update('nope', { quota: 1 })), { code: 'UNKNOWN_WORK_ORDER' });
  });

  t.test('audit log: chained, append-only, tampering named by seq', async (t) => {
    const store = await withStore(t);
    t.match(await verifyAuditChain(store), { ok: true, count: 0 });
    for (let i = 1; i <= 5; i++) {
      const rec = await store.transaction((tx) => tx.audit.append({ action: 'unit.issued', actor: 'station-01', subject: `S${i}`, detail: { n: i, b: 'x', a: [1, 2] } }));
      t.equal(rec.seq, i);
      if (i === 1) t.equal(rec.prevHash, '0'.repeat(64));
      t.equal(rec.detail, `{"a":[1,2],"b":"x","n":${i}}`, 'detail stored as canonical JSON');
    }
    t.match(await verifyAuditChain(store), { ok: true, count: 5 });
    await t.rejects(h.raw.updateAudit(3, 'nothing.happened'));
    await t.rejects(h.raw.deleteAudit(5));
    t.match(await verifyAuditChain(store), { ok: true, count: 5 });
    await h.raw.tamperAudit(3, 'nothing.happened');
    const verdict = await verifyAuditChain(store);
    t.match(verdict, { ok: false, seq: 3, reason: /hash/ , count: 2 });
  });

  t.test('broker bindings (issue 11): kept from the first call, only for known units', async (t) => {
    const store = await withStore(t);
    const u = buildUnit();
    await store.transaction((tx) => tx.units.insert(u));
    t.equal(await store.transaction((tx) => tx.enrollment.certificateBinding(u.serial), { readOnly: true }), null);
    await store.transaction((tx) => tx.enrollment.bindCertificate(u.serial, '2026-01-02T00:00:00.000Z'));
    await store.transaction((tx) => tx.enrollment.bindCertificate(u.serial, '2026-03-04T00:00:00.000Z'));
    t.equal(await store.transaction((tx) => tx.enrollment.certificateBinding(u.serial), { readOnly: true }), '2026-01-02T00:00:00.000Z', 'the first binding stays');
    await store.transaction((tx) => tx.enrollment.bindCertificate('0123000000000000EE', '2026-01-02T00:00:00.000Z'));
    t.equal(await store.transaction((tx) => tx.enrollment.certificateBinding('0123000000000000EE')), null, 'an unknown serial is not bound');
  });

  t.test('revocations (issue 13): the first record stays; listSince, lastSeq and listForCrl agree, in insertion order', async (t) => {
    const store = await withStore(t);
    t.same(await store.transaction((tx) => tx.revocations.listForCrl(), { readOnly: true }), [], 'empty');
    const reasons = ['keyCompromise', 'unspecified', 'cessationOfOperation', 'superseded'] as const;
    // Serials inserted out of sort order: both lists follow insertion, not the key.
    const added = ['ff01', '1', 'abcdef0123456789abcdef0123456789abcdef01', '7b'].map((certificateSerial, i) => ({
      certificateSerial, kind: 'device' as const, subject: null, reason: reasons[i]!, revokedAt: `2026-01-0${i + 1}T00:00:0${i}.123Z`, revokedBy: 'officer-01',
    }));
    await store.transaction(async (tx) => { for (const r of added) await tx.revocations.add(r); });
    await store.transaction((tx) => tx.revocations.add({ ...added[0]!, reason: 'superseded', revokedAt: '2027-01-01T00:00:00.000Z' }));
    t.match(await store.transaction((tx) => tx.revocations.get('ff01')), { reason: 'keyCompromise', revokedAt: '2026-01-01T00:00:00.123Z' }, 'revoking twice keeps the first');
    const since = await store.transaction((tx) => tx.revocations.listSince(0), { readOnly: true });
    t.same(since.map((r) => r.certificateSerial), added.map((r) => r.certificateSerial));
    t.equal(await store.transaction((tx) => tx.revocations.lastSeq()), since.at(-1)!.seq);
    t.same((await store.transaction((tx) => tx.revocations.listSince(since[1]!.seq, 1))).map((r) => r.certificateSerial), ['abcdef0123456789abcdef0123456789abcdef01']);
    t.same(await store.transaction((tx) => tx.revocations.listForCrl(), { readOnly: true }),
      added.map(({ certificateSerial, reason, revokedAt }) => ({ certificateSerial, reason, revokedAt })));
  });

  registriesSuite(t, () => h.open());
  batchSuite(t, () => h.open());
  caSuite(t, () => h.open());
  estSuite(t, () => h.open());
  attestationSuite(t, () => h.open());
  oversightSuite(t, () => h.open());
}
