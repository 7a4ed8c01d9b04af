/**
 * The Store conformance tests for preregistration and replicas (migration 006): work-order
 * preregistration policy, the outbox's awaiting / release / serial-scoped claim, and named
 * leases. Run by storeSuite, so every Store implementation is held to the same behaviour.
 */
import type { Test } from 'tap';
import type { Store } from '../../../server/store/store.js';
import { buildUnit, buildWorkOrder } from './build.js';

const T0 = '2026-01-02T00:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

/** Runs the registry / lease tests against a store opener. */
export function registriesSuite(t: Test, open: () => Promise<Store>): void {
  /** A store with WO-1 naming two registries and `n` units, each with a register job per registry. */
  const withJobs = async (t: Test, n: number) => {
    const store = await open();
    t.teardown(() => store.close());
    const serials: string[] = [];
    await store.transaction(async (tx) => {
      await tx.workOrders.create(buildWorkOrder({ registries: ['self', 'aws'] }));
      for (let i = 0; i < n; i++) {
        const u = buildUnit();
        serials.push(u.serial);
        await tx.units.insert(u);
        for (const registry of ['self', 'aws']) await tx.outbox.enqueue({ serial: u.serial, registry, action: 'register', at: T0 });
      }
    });
    return { store, serials };
  };

  t.test('work orders: preregistration defaults to confirmed, queued round-trips', async (t) => {
    const store = await open();
    t.teardown(() => store.close());
    const created = await store.transaction((tx) => tx.workOrders.create(buildWorkOrder()));
    t.equal(created.preregistration, 'confirmed');
    await store.transaction((tx) => tx.workOrders.create(buildWorkOrder({ id: 'WO-Q', registries: ['self', 'aws'], preregistration: 'queued' })));
    t.match(await store.transaction((tx) => tx.workOrders.get('WO-1')), { preregistration: 'confirmed', registries: ['self'] });
    t.match(await store.transaction((tx) => tx.workOrders.get('WO-Q')), { preregistration: 'queued', registries: ['self', 'aws'] });
  });

  t.test('outbox claimDue: due pending and awaiting jobs, lease respected, one unit, limit', async (t) => {
    const { store, serials } = await withJobs(t, 3);
    const [a, b] = serials as [string, string, string];
    // Only unit a's jobs, leased for 60 s.
    const mine = await store.transaction((tx) => tx.outbox.claimDue(at(1), at(61), 10, a));
    t.same(mine.map((j) => [j.serial, j.registry]), [[a, 'self'], [a, 'aws']]);
    t.ok(mine.every((j) => j.leaseUntil === at(61) && j.externalId === null && j.status === 'pending'));
    // While the lease runs nobody gets a's jobs again; the others are claimable, limit honoured.
    t.same(await store.transaction((tx) => tx.outbox.claimDue(at(2), at(62), 10, a)), []);
    const two = await store.transaction((tx) => tx.outbox.claimDue(at(2), at(62), 2));
    t.same(two.map((j) => j.serial), [b, b]);
    t.equal((await store.transaction((tx) => tx.outbox.claimDue(at(3), at(63), 10))).length, 2, 'unit c only');
    t.same(await store.transaction((tx) => tx.outbox.claimDue(at(4), at(64), 10)), []);
    // Nothing is due before its time: a job enqueued for later waits.
    await store.transaction((tx) => tx.outbox.enqueue({ serial: a, registry: 'later', action: 'revoke', at: at(500) }));
    // An expired lease frees a's jobs for another worker.
    const again = await store.transaction((tx) => tx.outbox.claimDue(at(61), at(121), 10, a));
    t.same(again.map((j) => j.registry), ['self', 'aws']);
  });

  t.test('outbox markAwaiting: external id kept, re-checked at nextAttemptAt, not unregistered', async (t) => {
    const { store, serials } = await withJobs(t, 1);
    const [self, aws] = await store.transaction((tx) => tx.outbox.claimDue(at(1), at(61), 10));
    await store.transaction((tx) => tx.outbox.markAwaiting(aws!.id, { externalId: 'thing-1', nextAttemptAt: at(30) }));
    const job = (await store.transaction((tx) => tx.outbox.jobsFor(serials[0]!))).find((j) => j.id === aws!.id);
    t.match(job, { status: 'awaiting', externalId: 'thing-1', nextAttemptAt: at(30), leaseUntil: null, attempts: 0 });
    t.same((await store.transaction((tx) => tx.outbox.awaiting())).map((j) => j.id), [aws!.id]);
    t.same(await store.transaction((tx) => tx.outbox.awaiting('WO-other')), []);
    t.same((await store.transaction((tx) => tx.outbox.awaiting('WO-1'))).map((j) => j.externalId), ['thing-1']);
    // The awaiting job no longer counts as unregistered; the still-pending self job does.
    t.same(await store.transaction((tx) => tx.outbox.unregistered('WO-1')), [{ serial: serials[0], registry: 'self' }]);
    // Not due before its next check (the self job's lease still runs), due at it.
    t.same(await store.transaction((tx) => tx.outbox.claimDue(at(29), at(89), 10)), []);
    const due = await store.transaction((tx) => tx.outbox.claimDue(at(30), at(90), 10));
    t.same(due.map((j) => [j.id, j.status]), [[aws!.id, 'awaiting']]);
    // A failed check keeps it awaiting (counted); a later confirmation delivers it.
    await store.transaction((tx) => tx.outbox.markFailed(aws!.id, { error: 'timeout', nextAttemptAt: at(40), park: false }));
    t.match((await store.transaction((tx) => tx.outbox.awaiting()))[0], { status: 'awaiting', attempts: 1, lastError: 'timeout' });
    await store.transaction(async (tx) => {
      await tx.outbox.addRegistration({ serial: serials[0]!, registry: 'aws', externalId: 'thing-1', registeredAt: at(41) });
      await tx.outbox.markDelivered(aws!.id, at(41));
    });
    t.same(await store.transaction((tx) => tx.outbox.awaiting()), []);
    // A delivered (or parked) job cannot go back to awaiting.
    await t.rejects(store.transaction((tx) => tx.outbox.markAwaiting(aws!.id, { externalId: 'x', nextAttemptAt: at(50) })), { code: 'STORE_ERROR' });
    await t.rejects(store.transaction((tx) => tx.outbox.markAwaiting(99999, { externalId: 'x', nextAttemptAt: at(50) })), { code: 'STORE_ERROR' });
    t.ok(self, 'the self job was claimed too');
  });

  t.test('outbox markDelivered records the registration\'s external id on the job', async (t) => {
    const { store, serials } = await withJobs(t, 1);
    const jobs = await store.transaction((tx) => tx.outbox.claimDue(at(1), at(61), 10));
    await store.transaction(async (tx) => {
      await tx.outbox.addRegistration({ serial: serials[0]!, registry: 'self', externalId: 'keyline:x', registeredAt: at(2) });
      await tx.outbox.markDelivered(jobs[0]!.id, at(2));
    });
    t.match((await store.transaction((tx) => tx.outbox.jobsFor(serials[0]!)))[0], { status: 'delivered', externalId: 'keyline:x', deliveredAt: at(2), attempts: 1 });
    t.same(await store.transaction((tx) => tx.outbox.unregistered()), [{ serial: serials[0], registry: 'aws' }]);
  });

  t.test('outbox release: lease freed, no attempt counted, retried at the given time', async (t) => {
    const { store, serials } = await withJobs(t, 1);
    const [job] = await store.transaction((tx) => tx.outbox.claimDue(at(1), at(61), 1));
    await store.transaction((tx) => tx.outbox.release(job!.id, at(10)));
    t.match((await store.transaction((tx) => tx.outbox.jobsFor(serials[0]!)))[0], { status: 'pending', attempts: 0, leaseUntil: null, nextAttemptAt: at(10) });
    t.same((await store.transaction((tx) => tx.outbox.claimDue(at(5), at(65), 10))).map((j) => j.registry), ['aws'], 'released job waits until 10 s');
    t.same((await store.transaction((tx) => tx.outbox.claimDue(at(10), at(70), 10))).map((j) => j.id), [job!.id]);
    await t.rejects(store.transaction((tx) => tx.outbox.release(99999, at(10))), { code: 'STORE_ERROR' });
  });

  t.test('leases: one holder at a time, renewal by the holder, taken over once expired', async (t) => {
    const store = await open();
    t.teardown(() => store.close());
    const acquire = (holder: string, now: number, until: number) =>
      store.transaction((tx) => tx.leases.acquire('crl', holder, at(now), at(until)));
    t.equal(await store.transaction((tx) => tx.leases.get('crl')), null);
    t.equal(await acquire('a', 0, 30), true);
    t.equal(await acquire('b', 10, 40), false, 'held by a');
    t.same(await store.transaction((tx) => tx.leases.get('crl')), { holder: 'a', until: at(30) });
    t.equal(await acquire('a', 20, 50), true, 'a renews');
    t.equal(await acquire('b', 40, 70), false, 'renewed lease still runs');
    t.equal(await acquire('b', 50, 80), true, 'expired: b takes over');
    t.same(await store.transaction((tx) => tx.leases.get('crl')), { holder: 'b', until: at(80) });
    await store.transaction((tx) => tx.leases.release('crl', 'a'));
    t.equal((await store.transaction((tx) => tx.leases.get('crl')))?.holder, 'b', 'a cannot release b\'s lease');
    await store.transaction((tx) => tx.leases.release('crl', 'b'));
    t.equal(await store.transaction((tx) => tx.leases.get('crl')), null);
    t.equal(await acquire('a', 51, 60), true, 'free again');
    // Leases are independent by name.
    t.equal(await store.transaction((tx) => tx.leases.acquire('housekeeping', 'b', at(52), at(60))), true);
    // Concurrent acquirers of a free lease: exactly one wins.
    const wins = await Promise.all(['x', 'y', 'z'].map((h) => store.transaction((tx) => tx.leases.acquire('race', h, at(0), at(30)))));
    t.equal(wins.filter(Boolean).length, 1);
  });
}
