import t from 'tap';
import { createOutboxWorker, backoffMs } from '../../../server/registry/outbox-worker.js';
import type { Registry } from '../../../server/registry/registry.js';
import { createSelfRegistry } from '../../../server/registry/self-registry.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { issue, round, storeWithOrder } from './helpers.js';

/** A registry that counts calls per serial, optionally slow or failing. */
function countingRegistry(name: string, opts: { delayMs?: number; fail?: string } = {}): Registry & { calls: Map<string, number> } {
  const calls = new Map<string, number>();
  return {
    name, calls,
    async register(u: UnitRecord) {
      calls.set(u.serial, (calls.get(u.serial) ?? 0) + 1);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.fail) throw new Error(opts.fail);
      return { externalId: `${name}:${u.serial}` };
    },
    async revoke() {},
  };
}

t.test('a unit is recorded with its self registration and one register job per other registry of its work order, in one transaction', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['self', 'aws']);
  t.teardown(() => store.close());
  const outcomes = await issue(store, 3);
  t.ok(outcomes.every((o) => o.ok));
  for (const o of outcomes) {
    const serial = o.ok ? o.value.serial : '';
    const jobs = await store.transaction((tx) => tx.outbox.jobsFor(serial));
    t.same(jobs.map((j) => [j.registry, j.action, j.status, j.attempts]), [['aws', 'register', 'pending', 0]]);
    t.same(await store.transaction((tx) => tx.outbox.getRegistration(serial, 'self')),
      { serial, registry: 'self', externalId: `keyline:${serial}`, registeredAt: '2026-01-02T00:00:00.000Z' });
  }
  t.same((await store.transaction((tx) => tx.outbox.unregistered('WO-1'))).map((u) => u.registry), ['aws', 'aws', 'aws']);
});

t.test('default work order registries are ["self"]: registered with the unit, no job', async (t) => {
  const store = await storeWithOrder(t.testdir());
  t.teardown(() => store.close());
  t.same((await store.transaction((tx) => tx.workOrders.get('WO-1')))?.registries, ['self']);
  const [o] = await issue(store, 1);
  const serial = o!.ok ? o!.value.serial : '';
  t.same(await store.transaction((tx) => tx.outbox.jobsFor(serial)), []);
  t.equal((await store.transaction((tx) => tx.outbox.getRegistration(serial, 'self')))?.externalId, `keyline:${serial}`);
  t.same(await store.transaction((tx) => tx.outbox.unregistered()), []);
});

t.test('when the job cannot be written, the unit is not written either', async (t) => {
  // The schema refuses a registry name over 64 characters: the enqueue fails after the unit insert.
  const store = await storeWithOrder(t.testdir(), ['self', 'x'.repeat(65)]);
  t.teardown(() => store.close());
  await t.rejects(issue(store, 1));
  const page = await store.transaction((tx) => tx.units.list({ workOrder: 'WO-1' }));
  t.equal(page.units.length, 0, 'no unit without its jobs');
  t.equal((await store.transaction((tx) => tx.workOrders.get('WO-1')))?.issued, 0);
});

t.test('two workers running at once deliver each job exactly once (lease)', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['self', 'slow']);
  t.teardown(() => store.close());
  const units = await issue(store, 5);
  const slow = countingRegistry('slow', { delayMs: 50 });
  const self = createSelfRegistry({ store });
  const a = createOutboxWorker({ store, registries: [self, slow] });
  const b = createOutboxWorker({ store, registries: [self, slow] });
  const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
  t.equal(ra.delivered + rb.delivered, 5, 'all five jobs delivered between the two (self registered with the units)');
  t.ok([...slow.calls.values()].every((n) => n === 1), 'the slow registry saw each unit once');
  t.equal(slow.calls.size, 5);
  // A later round finds nothing to do, and a repeated registration keeps the first.
  t.same(await a.runOnce(), round({ delivered: 0, retried: 0, parked: 0 }));
  const serial = units[0]!.ok ? units[0]!.value.serial : '';
  const reg = await store.transaction((tx) => tx.outbox.getRegistration(serial, 'slow'));
  t.equal(reg?.externalId, `slow:${serial}`);
  await self.register((await store.transaction((tx) => tx.units.getBySerial(serial)))!);
  t.equal((await store.transaction((tx) => tx.outbox.getRegistration(serial, 'self')))?.externalId, `keyline:${serial}`);
  t.same(await store.transaction((tx) => tx.outbox.unregistered()), []);
});

t.test('a failing registry backs off exponentially, then the job is parked with its reason', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['down']);
  t.teardown(() => store.close());
  const [o] = await issue(store, 1);
  const serial = o!.ok ? o!.value.serial : '';
  let clock = new Date('2026-01-03T00:00:00Z').getTime();
  const down = countingRegistry('down', { fail: 'HTTP 503 from registry' });
  const w = createOutboxWorker({ store, registries: [down], now: () => new Date(clock), maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 });

  t.same(await w.runOnce(), round({ delivered: 0, retried: 1, parked: 0 }));
  let [job] = await store.transaction((tx) => tx.outbox.jobsFor(serial));
  t.match(job, { status: 'pending', attempts: 1, lastError: 'HTTP 503 from registry', leaseUntil: null });
  t.equal(Date.parse(job!.nextAttemptAt) - clock, 1000, 'first retry after the base delay');
  t.same(await w.runOnce(), round({ delivered: 0, retried: 0, parked: 0 }), 'not retried before it is due');

  clock += 1000;
  t.same(await w.runOnce(), round({ delivered: 0, retried: 1, parked: 0 }));
  [job] = await store.transaction((tx) => tx.outbox.jobsFor(serial));
  t.equal(Date.parse(job!.nextAttemptAt) - clock, 2000, 'the delay doubles');

  clock += 2000;
  t.same(await w.runOnce(), round({ delivered: 0, retried: 0, parked: 1 }));
  [job] = await store.transaction((tx) => tx.outbox.jobsFor(serial));
  t.match(job, { status: 'parked', attempts: 3, lastError: 'HTTP 503 from registry' });
  clock += 3_600_000;
  t.same(await w.runOnce(), round({ delivered: 0, retried: 0, parked: 0 }), 'a parked job is not retried');
  t.equal(down.calls.get(serial), 3);
  t.same((await store.transaction((tx) => tx.outbox.parked('WO-1'))).map((j) => j.serial), [serial]);
  t.equal(backoffMs(20, 1000, 60_000), 60_000, 'capped');
});

t.test('a job for a registry this server does not know fails with that reason', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['azure']);
  t.teardown(() => store.close());
  await issue(store, 1);
  const w = createOutboxWorker({ store, registries: [], maxAttempts: 1 });
  t.same(await w.runOnce(), round({ delivered: 0, retried: 0, parked: 1 }));
  const [job] = await store.transaction((tx) => tx.outbox.parked());
  t.match(job?.lastError, /registry 'azure' is not configured/);
});

t.test('start/stop: the loop delivers and stops cleanly', async (t) => {
  const store = await storeWithOrder(t.testdir());
  t.teardown(() => store.close());
  await issue(store, 2);
  const w = createOutboxWorker({ store, registries: [createSelfRegistry({ store })], intervalMs: 10 });
  w.start();
  for (let i = 0; i < 100 && (await store.transaction((tx) => tx.outbox.unregistered())).length; i++) await new Promise((r) => setTimeout(r, 10));
  await w.stop();
  t.same(await store.transaction((tx) => tx.outbox.unregistered()), []);
});
