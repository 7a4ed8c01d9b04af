/**
 * TxOptions.shared (issue 13): small transactions of one turn may share a COMMIT, and each still
 * behaves as a transaction of its own: sees the earlier ones' writes, gets its own result, and a
 * failure rolls back only its own writes. Run on SQLite (which shares) and PostgreSQL (which
 * runs each on its own): the same outcomes either way.
 */
import t, { type Test } from 'tap';
import { PgStore } from '../../../server/store/postgres/pg-store.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../../server/store/store.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { buildWorkOrder } from './build.js';

const stores: Array<{ name: string; skip: string | false; open: (t: Test) => Promise<Store> }> = [
  { name: 'SQLite', skip: false, open: async (t) => new SqliteStore(`${t.testdir()}/shared.db`) },
  { name: 'PostgreSQL', skip: pgSkipReason(), open: async () => PgStore.open(await freshPgDatabase(), { pool: 4 }) },
];

for (const { name, skip, open } of stores) {
  t.test(name, { skip }, async (t) => {
    const store = await open(t);
    t.teardown(() => store.close());
    await store.transaction(async (tx) => void (await tx.workOrders.create(buildWorkOrder({ id: 'WO-S', quota: 10 }))));

    const shared = { shared: true } as const;
    const results = await Promise.allSettled([
      store.transaction(async (tx) => {
        await tx.workOrders.incrementIssued('WO-S', 2);
        return (await tx.workOrders.get('WO-S'))!.issued;
      }, shared),
      // Fails after writing: its own increment is rolled back, the others stand.
      store.transaction(async (tx) => {
        await tx.workOrders.incrementIssued('WO-S', 3);
        await tx.audit.append({ action: 'x', actor: 'failing' });
        throw new Error('boom');
      }, shared),
      // Sees the first one's write, not the failed one's.
      store.transaction(async (tx) => {
        await tx.workOrders.incrementIssued('WO-S', 1);
        return (await tx.workOrders.get('WO-S'))!.issued;
      }, shared),
      // A refusal from the database fails only this one.
      store.transaction((tx) => tx.workOrders.incrementIssued('WO-S', 100), shared),
      store.transaction((tx) => tx.audit.count(), { shared: true, readOnly: true }),
    ]);
    t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    t.equal((results[0] as PromiseFulfilledResult<number>).value, 2);
    t.match((results[1] as PromiseRejectedResult).reason, { message: 'boom' });
    t.equal((results[2] as PromiseFulfilledResult<number>).value, 3, 'the third saw the first, not the failed one');
    t.match((results[3] as PromiseRejectedResult).reason, { code: 'QUOTA_EXCEEDED' });
    t.equal((results[4] as PromiseFulfilledResult<number>).value, 0, 'the failed one left no audit record');

    t.equal((await store.transaction((tx) => tx.workOrders.get('WO-S')))!.issued, 3, 'committed: 2 + 1');
    t.equal(await store.transaction((tx) => tx.audit.count()), 0);

    // A Tx is unusable once its own part ended, even while the shared transaction goes on.
    let leaked: Parameters<Parameters<Store['transaction']>[0]>[0] | undefined;
    await Promise.all([
      store.transaction(async (tx) => void (leaked = tx), shared),
      store.transaction(async () => {
        await t.rejects(leaked!.workOrders.get('WO-S'), { code: 'STORE_ERROR' });
      }, shared),
    ]);

    // Shared transactions submitted just before close still run; after it, none start.
    const late = store.transaction((tx) => tx.workOrders.incrementIssued('WO-S', 1), shared);
    await store.close();
    await late;
    await t.rejects(store.transaction((tx) => tx.audit.count(), shared), { code: 'STORE_ERROR' });
  });
}
