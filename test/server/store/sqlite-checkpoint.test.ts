import Database from 'better-sqlite3';
import { copyFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';

// What the database file itself holds, without its WAL: what a checkpoint has copied into it.
function workOrdersInMainFile(dir: string, path: string): string[] {
  const copy = `${dir}/copy-${Math.random().toString(36).slice(2)}.db`;
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    // Before any checkpoint even the tables (the migrations' own commits) are only in the WAL.
    const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'work_orders'").pluck().get();
    return tables ? (db.prepare('SELECT id FROM work_orders ORDER BY id').pluck().all() as string[]) : [];
  } finally {
    db.close();
  }
}

async function createOrders(store: SqliteStore, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await store.transaction((tx) => tx.workOrders.create({ id: `WO-${i}`, product: 'P', quota: 5, stations: null, createdAt: '2026-01-02T00:00:00.000Z' }).then(() => undefined));
  }
}

t.test('a busy store checkpoints on its own thread: the rows reach the database file without a COMMIT doing it', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/busy.db`;
  const store = new SqliteStore(path, { backgroundCheckpointAfter: 3 });
  t.teardown(() => store.close());
  await createOrders(store, 0, 2);
  t.equal(store.checkpointsInBackground, false, 'not before the threshold');
  await createOrders(store, 2, 1);
  t.equal(store.checkpointsInBackground, true, 'started at the third write commit');
  // A few pages of WAL are far below SQLite's own threshold (1,000 pages): only the thread copies them.
  let ids: string[] = [];
  for (let waited = 0; waited < 5000 && ids.length < 3; waited += 50) {
    await sleep(50);
    ids = workOrdersInMainFile(dir, path);
  }
  t.same(ids, ['WO-0', 'WO-1', 'WO-2'], 'checkpointed into the database file');
  // Later writes too, and reads see every row as before.
  await createOrders(store, 3, 2);
  t.same((await store.transaction((tx) => tx.workOrders.list(), { readOnly: true })).map((w) => w.id).sort(), ['WO-0', 'WO-1', 'WO-2', 'WO-3', 'WO-4']);
});

t.test('without the thread (threshold 0) the same writes stay in the WAL until SQLite\'s own checkpoint', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/quiet.db`;
  const store = new SqliteStore(path, { backgroundCheckpointAfter: 0 });
  t.teardown(() => store.close());
  await createOrders(store, 0, 5);
  await sleep(400);
  t.equal(store.checkpointsInBackground, false);
  t.same(workOrdersInMainFile(dir, path), [], 'nothing copied into the database file yet');
});

t.test('close stops the thread, checkpoints the rest and removes the WAL; the data is there on reopening', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/close.db`;
  const store = new SqliteStore(path, { backgroundCheckpointAfter: 1 });
  await createOrders(store, 0, 4);
  t.equal(store.checkpointsInBackground, true);
  await store.close();
  t.notOk(existsSync(`${path}-wal`), 'no WAL left behind');
  t.same(workOrdersInMainFile(dir, path), ['WO-0', 'WO-1', 'WO-2', 'WO-3']);
  const again = new SqliteStore(path, { backgroundCheckpointAfter: 1 });
  t.teardown(() => again.close());
  t.equal((await again.transaction((tx) => tx.workOrders.list(), { readOnly: true })).length, 4);
});

t.test('a store closed right after the thread started closes cleanly', async (t) => {
  const store = new SqliteStore(`${t.testdir()}/early.db`, { backgroundCheckpointAfter: 1 });
  await createOrders(store, 0, 1);
  await store.close();
  t.pass('closed');
});
