import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { Tx } from '../../../server/store/store.js';

// Two connections to one file in one process: the first holds the write lock across an await.
// SQLite's own busy handler would stop the thread until its timeout, so the first could never
// commit; the write BEGIN waits from a timer instead, and the event loop keeps turning.

const order = (id: string) => (tx: Tx) => tx.workOrders.create({ id, product: 'P', quota: 5, stations: null, createdAt: '2026-01-02T00:00:00.000Z' }).then(() => undefined);

/** Counts timer ticks while `p` is pending: a loop stopped in a busy handler counts none. */
async function ticksWhile<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown; ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const start = performance.now();
  try {
    return { value: await p, ticks, ms: performance.now() - start };
  } catch (error) {
    return { error, ticks, ms: performance.now() - start };
  } finally {
    clearInterval(timer);
  }
}

/** Opens two stores on one new file and has the first hold the write lock until `release()`. */
async function holding(t: Test, name: string, secondOptions: { busyTimeoutMs?: number } = {}) {
  const path = `${t.testdir()}/${name}.db`;
  const a = new SqliteStore(path);
  const b = new SqliteStore(path, secondOptions);
  t.teardown(async () => { await a.close(); await b.close(); });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const first = a.transaction(async (tx) => { await order('WO-A')(tx); await held; });
  await sleep(20);
  return { a, b, first, release };
}

t.test('a write waits for another connection of this process that holds the lock across an await', async (t) => {
  const { a, b, first, release } = await holding(t, 'two');
  setTimeout(release, 300);
  const second = await ticksWhile(b.transaction(order('WO-B')));
  await first;
  t.equal(second.error, undefined, 'the second write commits once the first has');
  t.ok(second.ms >= 250, `it waited for the lock (${Math.round(second.ms)} ms)`);
  t.ok(second.ticks >= 10, `the event loop kept turning meanwhile (${second.ticks} ticks of 10 ms)`);
  const ids = await a.transaction(async (tx) => (await tx.workOrders.list()).map((w) => w.id).sort(), { readOnly: true });
  t.same(ids, ['WO-A', 'WO-B'], 'both rows are there');
});

t.test('shared transactions wait the same way', async (t) => {
  const { b, first, release } = await holding(t, 'shared');
  setTimeout(release, 200);
  const both = await ticksWhile(Promise.all([b.transaction(order('WO-B1'), { shared: true }), b.transaction(order('WO-B2'), { shared: true })]));
  await first;
  t.equal(both.error, undefined, 'both shared writes commit');
  t.ok(both.ticks >= 5, `the event loop kept turning meanwhile (${both.ticks} ticks)`);
});

t.test('the busy timeout still ends the wait: STORE_ERROR naming SQLITE_BUSY, nothing written', async (t) => {
  const { b, first, release } = await holding(t, 'timeout', { busyTimeoutMs: 300 });
  const second = await ticksWhile(b.transaction(order('WO-B')));
  release();
  await first;
  t.match(second.error, { code: 'STORE_ERROR', message: /begin: SQLITE_BUSY/ }, 'refused once the timeout passed');
  t.ok(second.ms >= 280 && second.ms < 2000, `after about the timeout (${Math.round(second.ms)} ms)`);
  t.ok(second.ticks >= 10, `the event loop kept turning meanwhile (${second.ticks} ticks)`);
  const ids = await b.transaction(async (tx) => (await tx.workOrders.list()).map((w) => w.id), { readOnly: true });
  t.same(ids, ['WO-A'], 'the refused write left nothing');
  await b.transaction(order('WO-B'));
  t.pass('and the connection writes again once the lock is free');
});
