import t from 'tap';
import { createOutboxWorker } from '../../../server/registry/outbox-worker.js';
import type { Registry } from '../../../server/registry/registry.js';
import { issue, storeWithOrder } from './helpers.js';

// The running worker must not wait for its slowest call: a cloud call that hangs (until its
// request timeout) holds one delivery slot while the other registries' jobs keep flowing.
t.test('a hung registry call holds one slot; other jobs are delivered meanwhile, and later ones too', async (t) => {
  const store = await storeWithOrder(t.testdir(), ['stuck', 'quick']);
  t.teardown(() => store.close());
  let release!: () => void;
  const hung = new Promise<void>((r) => { release = r; });
  let stuckCalls = 0;
  const stuck: Registry = {
    name: 'stuck',
    async register(u) { stuckCalls++; await hung; return { externalId: `stuck:${u.serial}` }; },
    async revoke() {},
  };
  const quickCalls: string[] = [];
  const quick: Registry = {
    name: 'quick',
    async register(u) { quickCalls.push(u.serial); return { externalId: `quick:${u.serial}` }; },
    async revoke() {},
  };
  await issue(store, 3);
  const w = createOutboxWorker({ store, registries: [stuck, quick], intervalMs: 20, batch: 8 });
  w.start();
  const until = async (cond: () => boolean | Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  };
  t.ok(await until(() => quickCalls.length === 3), 'the first units reached the quick registry while stuck calls hang');
  // Units issued after the hang began are claimed by the running pump too.
  await issue(store, 2);
  t.ok(await until(() => quickCalls.length === 5), 'later units are delivered while the first stuck calls still hang');
  t.equal(stuckCalls, 5, 'each stuck job was called once (held by its lease, never re-claimed)');
  release();
  const delivered = () => store.transaction(async (tx) => (await tx.outbox.jobCounts()).filter((c) => c.status === 'delivered').reduce((a, c) => a + c.count, 0), { readOnly: true });
  t.ok(await until(async () => (await delivered()) === 10), 'every job delivered once the hang ends');
  await w.stop();
  t.equal(stuckCalls, 5, 'no second call after the hang');
  t.equal(quickCalls.length, 5);
});
