/**
 * The reads and the two outbox actions the console adds to the Store (issue 18): a unit by its
 * certificate fingerprint, a work order's units by station and status, a unit's audit records by
 * subject, the chain's head, and the outbox jobs listed, retried and parked. Run by
 * store.suite.ts against every implementation.
 */
import type { Test } from 'tap';
import type { Store } from '../../../server/store/store.js';
import { buildUnit, buildWorkOrder } from './build.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T01:00:00.000Z';

/** The console's store tests. */
export function oversightSuite(t: Test, open: () => Promise<Store>): void {
  const withStore = async (t: Test) => {
    const store = await open();
    t.teardown(() => store.close());
    await store.transaction(async (tx) => { await tx.workOrders.create(buildWorkOrder()); });
    return store;
  };

  t.test('units (issue 18): by fingerprint, and a work order counted by station and status', async (t) => {
    const store = await withStore(t);
    const a = buildUnit({ station: 'station-01' });
    await store.transaction(async (tx) => {
      await tx.units.insert(a);
      await tx.units.insert(buildUnit({ station: 'station-01', status: 'confirmed' }));
      await tx.units.insert(buildUnit({ station: 'station-01', status: 'confirmed' }));
      await tx.units.insert(buildUnit({ station: 'station-02', status: 'quarantined' }));
    });
    t.equal((await store.transaction((tx) => tx.units.getByFingerprint(a.fingerprintSha256.toUpperCase()), { readOnly: true }))?.serial, a.serial);
    t.equal(await store.transaction((tx) => tx.units.getByFingerprint('0'.repeat(64)), { readOnly: true }), null);
    t.same(await store.transaction((tx) => tx.units.countByStatus('WO-1'), { readOnly: true }), [
      { station: 'station-01', status: 'confirmed', count: 2 },
      { station: 'station-01', status: 'issued', count: 1 },
      { station: 'station-02', status: 'quarantined', count: 1 },
    ]);
    t.same(await store.transaction((tx) => tx.units.countByStatus('WO-none'), { readOnly: true }), []);
  });

  t.test('audit (issue 18): records by subject, newest kept, oldest first; the head', async (t) => {
    const store = await withStore(t);
    t.match(await store.transaction((tx) => tx.audit.head(), { readOnly: true }), null, 'an empty log has no head');
    await store.transaction(async (tx) => {
      for (let i = 0; i < 6; i++) await tx.audit.append({ action: `a.${i}`, actor: 'x', subject: i % 2 ? 'UNIT-A' : 'CERT-A' });
      await tx.audit.append({ action: 'other', actor: 'x', subject: 'UNIT-B' });
    });
    const all = await store.transaction((tx) => tx.audit.listBySubject(['UNIT-A', 'CERT-A'], 100), { readOnly: true });
    t.same(all.map((r) => r.action), ['a.0', 'a.1', 'a.2', 'a.3', 'a.4', 'a.5']);
    t.same((await store.transaction((tx) => tx.audit.listBySubject(['UNIT-A', 'CERT-A'], 2), { readOnly: true })).map((r) => r.action), ['a.4', 'a.5']);
    t.same(await store.transaction((tx) => tx.audit.listBySubject(['nobody'], 10), { readOnly: true }), []);
    const last = (await store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 100 }), { readOnly: true })).at(-1)!;
    t.same(await store.transaction((tx) => tx.audit.head(), { readOnly: true }), { seq: last.seq, hash: last.hash });
  });

  t.test('outbox (issue 18): list by registry and state, retry a parked job, park a pending one', async (t) => {
    const store = await withStore(t);
    const u = buildUnit();
    const [a, b, c] = await store.transaction(async (tx) => {
      await tx.units.insert(u);
      return tx.outbox.enqueueMany(['aws', 'aws', 'dps'].map((registry) => ({ serial: u.serial, registry, action: 'register' as const, at: T0 })));
    });
    await store.transaction((tx) => tx.outbox.markFailed(a!.id, { error: 'AccessDenied', nextAttemptAt: T1, park: true }));
    t.same((await store.transaction((tx) => tx.outbox.list({ limit: 10 }), { readOnly: true })).map((j) => j.id), [c!.id, b!.id, a!.id], 'newest first');
    t.same((await store.transaction((tx) => tx.outbox.list({ registry: 'aws', limit: 10 }))).map((j) => j.id), [b!.id, a!.id]);
    t.match(await store.transaction((tx) => tx.outbox.list({ status: 'parked', limit: 10 })), [{ id: a!.id, lastError: 'AccessDenied', attempts: 1 }]);
    t.same(await store.transaction((tx) => tx.outbox.list({ registry: 'aws', limit: 1 })).then((j) => j.length), 1);
    t.match(await store.transaction((tx) => tx.outbox.get(b!.id)), { id: b!.id, status: 'pending' });
    t.equal(await store.transaction((tx) => tx.outbox.get(999_999)), null);

    t.equal(await store.transaction((tx) => tx.outbox.retry(a!.id, T1)), true, 'a parked job is retried');
    t.match(await store.transaction((tx) => tx.outbox.get(a!.id)), { status: 'pending', attempts: 0, nextAttemptAt: T1, lastError: 'AccessDenied' });
    t.equal(await store.transaction((tx) => tx.outbox.park(b!.id, 'parked by operator-01: wrong account', T0)), true, 'a pending job is parked');
    t.match(await store.transaction((tx) => tx.outbox.get(b!.id)), { status: 'parked', lastError: 'parked by operator-01: wrong account' });
    t.equal(await store.transaction((tx) => tx.outbox.park(b!.id, 'again', T0)), false, 'a parked job is not parked again');
    // A job a worker holds a lease on is the worker's until the lease ends.
    await store.transaction((tx) => tx.outbox.claimDue(T0, T1, 10, u.serial));
    t.equal(await store.transaction((tx) => tx.outbox.park(c!.id, 'x', T0)), false, 'a leased job is not parked');
    t.equal(await store.transaction((tx) => tx.outbox.park(c!.id, 'x', T1)), true, 'once the lease has run out it is');
    await store.transaction((tx) => tx.outbox.retry(c!.id, T0));
    const [claimed] = await store.transaction((tx) => tx.outbox.claimDue(T1, '2026-01-01T02:00:00.000Z', 10, u.serial));
    await store.transaction((tx) => tx.outbox.markDelivered(claimed!.id, T1));
    t.equal(await store.transaction((tx) => tx.outbox.retry(claimed!.id, T1)), false, 'a delivered job is not retried');
  });
}
