/**
 * The Store conformance tests for the batch methods issuance records a group with (getMany,
 * findBySerialsOrKeys, insertMany, enqueueMany, appendMany): each does what the single-row
 * method in a loop does, and insertMany is all or nothing. Run by storeSuite.
 */
import type { Test } from 'tap';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import type { Store } from '../../../server/store/store.js';
import { buildUnit, buildWorkOrder } from './build.js';

const T0 = '2026-01-02T00:00:00.000Z';

/** Runs the batch-method tests against a store opener. */
export function batchSuite(t: Test, open: () => Promise<Store>): void {
  const withStore = async (t: Test) => {
    const store = await open();
    t.teardown(() => store.close());
    await store.transaction(async (tx) => {
      await tx.workOrders.create(buildWorkOrder());
      await tx.workOrders.create(buildWorkOrder({ id: 'WO-2', quota: 3, registries: ['self', 'aws'] }));
    });
    return store;
  };

  t.test('batch: getMany and findBySerialsOrKeys read what get / getBySerial / getByPublicKey read', async (t) => {
    const store = await withStore(t);
    const [a, b, c] = [buildUnit(), buildUnit({ workOrder: 'WO-2' }), buildUnit()];
    await store.transaction(async (tx) => { await tx.units.insert(a); await tx.units.insert(b); await tx.units.insert(c); });
    for (const readOnly of [true, false]) {
      const orders = await store.transaction((tx) => tx.workOrders.getMany(['WO-2', 'nope', 'WO-1', 'WO-2']), { readOnly });
      t.same(orders.map((o) => o.id).sort(), ['WO-1', 'WO-2'], 'each existing order once');
      t.match(orders.find((o) => o.id === 'WO-2'), { quota: 3, issued: 0, registries: ['self', 'aws'] });
      // a by serial, b by key, c by both, plus names that match nothing.
      const found = await store.transaction((tx) => tx.units.findBySerialsOrKeys([a.serial, c.serial, '0123FFFFFFFFFFFFEE'], [b.publicKey, c.publicKey, new Uint8Array(64)]), { readOnly });
      t.same(found.map((u) => u.serial).sort(), [a.serial, b.serial, c.serial].sort(), 'each match once');
      const fb = found.find((u) => u.serial === b.serial)!;
      t.same(Buffer.from(fb.publicKey), Buffer.from(b.publicKey));
      t.same(Buffer.from(fb.certificateDer), Buffer.from(b.certificateDer));
      t.equal(fb.workOrder, 'WO-2');
    }
    t.same(await store.transaction((tx) => tx.units.findBySerialsOrKeys([], [])), []);
    t.same(await store.transaction((tx) => tx.workOrders.getMany([])), []);
  });

  t.test('batch: insertMany puts every unit in, or none when one is refused', async (t) => {
    const store = await withStore(t);
    const units = Array.from({ length: 5 }, () => buildUnit());
    t.equal(await store.transaction((tx) => tx.units.insertMany(units)), true);
    for (const u of units) {
      const got = await store.transaction((tx) => tx.units.getBySerial(u.serial));
      t.same(got && { ...got, publicKey: Buffer.from(got.publicKey), certificateDer: Buffer.from(got.certificateDer) },
        { ...u, publicKey: Buffer.from(u.publicKey), certificateDer: Buffer.from(u.certificateDer) });
    }
    t.equal(await store.transaction((tx) => tx.units.insertMany([])), true);

    // Refused against the table (same serial, key, certificate serial) or within the batch: nothing goes in,
    // and the transaction stays usable.
    const clashes = [
      [buildUnit(), buildUnit({ serial: units[0]!.serial })],
      [buildUnit(), buildUnit({ publicKey: units[1]!.publicKey })],
      [buildUnit({ certificateSerial: units[2]!.certificateSerial }), buildUnit()],
      (() => { const x = buildUnit(); return [x, buildUnit({ publicKey: x.publicKey })]; })(),
    ];
    for (const batch of clashes) {
      const after = await store.transaction(async (tx) => {
        const ok = await tx.units.insertMany(batch);
        await tx.audit.append({ action: 'after', actor: 't' });
        return ok;
      });
      t.equal(after, false);
      for (const u of batch) {
        const got = await store.transaction((tx) => tx.units.getBySerial(u.serial));
        t.ok(got === null || units.some((x) => x.serial === got.serial), `${u.serial} not inserted`);
      }
    }
    t.equal(await store.transaction((tx) => tx.audit.count()), clashes.length, 'the transaction went on after each refusal');
    await t.rejects(store.transaction((tx) => tx.units.insertMany([buildUnit({ workOrder: 'nope' })])), { code: 'UNKNOWN_WORK_ORDER' });
    t.equal((await store.transaction((tx) => tx.units.list({ limit: 100 }))).units.length, 5);
  });

  t.test('batch: enqueueMany queues in order; appendMany chains like append', async (t) => {
    const store = await withStore(t);
    const [a, b] = [buildUnit(), buildUnit()];
    const jobs = await store.transaction(async (tx) => {
      await tx.units.insertMany([a, b]);
      await tx.outbox.enqueue({ serial: a.serial, registry: 'first', action: 'register', at: T0 });
      return tx.outbox.enqueueMany([
        { serial: a.serial, registry: 'self', action: 'register', at: T0 },
        { serial: b.serial, registry: 'self', action: 'register', at: T0 },
        { serial: a.serial, registry: 'aws', action: 'revoke', at: T0 },
      ]);
    });
    t.match(jobs, [{ serial: a.serial, registry: 'self', action: 'register', status: 'pending', attempts: 0, nextAttemptAt: T0, createdAt: T0 },
      { serial: b.serial, registry: 'self' }, { serial: a.serial, registry: 'aws', action: 'revoke' }]);
    t.ok(jobs[0]!.id < jobs[1]!.id && jobs[1]!.id < jobs[2]!.id, 'ids ascending in the given order');
    t.same((await store.transaction((tx) => tx.outbox.jobsFor(a.serial))).map((j) => j.registry), ['first', 'self', 'aws']);
    t.same(await store.transaction((tx) => tx.outbox.enqueueMany([])), []);

    const recs = await store.transaction(async (tx) => {
      const one = await tx.audit.append({ action: 'single', actor: 't' });
      const many = await tx.audit.appendMany([
        { action: 'unit.issued', actor: 's1', subject: a.serial, detail: { workOrder: 'WO-1', n: 1 } },
        { action: 'unit.duplicate_key', actor: 's2', subject: b.serial },
      ]);
      const last = await tx.audit.append({ action: 'single', actor: 't' });
      return [one, ...many, last];
    });
    t.same(recs.map((r) => r.seq), [1, 2, 3, 4]);
    t.equal(recs[1]!.prevHash, recs[0]!.hash);
    t.equal(recs[2]!.prevHash, recs[1]!.hash);
    t.equal(recs[3]!.prevHash, recs[2]!.hash);
    t.same(await store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 10 })), recs, 'stored as returned');
    // A later transaction continues the chain written by appendMany.
    const next = await store.transaction(async (tx) => tx.audit.appendMany([{ action: 'x', actor: 't' }, { action: 'y', actor: 't' }]));
    t.equal(next[0]!.prevHash, recs[3]!.hash);
    t.same(await store.transaction((tx) => tx.audit.appendMany([])), []);
    t.match(await verifyAuditChain(store), { ok: true, count: 6 });
  });
}
