import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createSharedRegistryCallLimiter } from '../../../server/registry/shared-registry-call-limiter.js';
import { createRegistryCallLimiter } from '../../../server/registry/registry-call-limiter.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../../server/store/store.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { PgStore } from '../../../server/store/postgres/pg-store.js';

// Two replicas (two stores on one database), each with its own limiter for the same registry at
// 20/s: together they must not exceed 20/s. Per-process limiters alone would allow 40/s.
async function twoReplicas(t: Test, a: Store, b: Store): Promise<void> {
  const limiters = [a, b].map((store) => createSharedRegistryCallLimiter({ store, name: 'aws-eu', perSecond: 20 }));
  const at: number[] = [];
  await Promise.all(limiters.flatMap((l) => Array.from({ length: 8 }, async () => { await l.take(); at.push(Date.now()); })));
  checkTurns(t, at);
}

/** The most turns in any window of `ms`. */
const densest = (at: number[], ms: number) => Math.max(...at.map((x) => at.filter((y) => y >= x && y < x + ms).length));

/**
 * 16 turns at 20/s, whoever took them: they span at least ~15 intervals of 50 ms, and no 250 ms
 * window holds more than 5 (+2 for timer jitter: a turn's time is read just after it is given).
 */
function checkTurns(t: Test, at: number[]): void {
  at.sort((x, y) => x - y);
  t.equal(at.length, 16);
  const span = at[at.length - 1]! - at[0]!;
  t.ok(span >= 650, `16 turns across both replicas span ${span} ms (15 intervals: 750 ms)`);
  t.ok(densest(at, 250) <= 7, `at most 7 turns in any 250 ms (got ${densest(at, 250)})`);
}

t.test('the control: per-process limiters alone let two replicas through at twice the rate', async (t) => {
  const local = [createRegistryCallLimiter(20), createRegistryCallLimiter(20)];
  const at: number[] = [];
  await Promise.all(local.flatMap((l) => Array.from({ length: 8 }, async () => { await l.take(); at.push(Date.now()); })));
  at.sort((x, y) => x - y);
  t.ok(densest(at, 250) >= 8, `two per-process limiters give ${densest(at, 250)} turns in 250 ms (twice the rate)`);
});

// Two SqliteStores in one process would block each other (better-sqlite3 waits synchronously on
// the file lock), so the second replica is a child process, as it is in production.
t.test('SQLite: two processes sharing a file share the rate', async (t) => {
  const file = join(t.testdir(), 'k.db');
  const store = new SqliteStore(file);
  t.teardown(() => store.close());
  const child = fileURLToPath(new URL('./rate-process.ts', import.meta.url));
  const other = new Promise<number[]>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', child, file, '8', '20'], (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as number[])));
  });
  const limiter = createSharedRegistryCallLimiter({ store, name: 'aws-eu', perSecond: 20 });
  // Start once the child is likely running (it takes ~1 s to load), so the turns interleave.
  await new Promise((r) => setTimeout(r, 800));
  const mine: number[] = [];
  await Promise.all(Array.from({ length: 8 }, async () => { await limiter.take(); mine.push(Date.now()); }));
  const theirs = await other;
  checkTurns(t, [...mine, ...theirs]);
});

t.test('PostgreSQL: two replicas share the rate', { skip: pgSkipReason() }, async (t) => {
  const url = await freshPgDatabase();
  const a = await PgStore.open(url, { pool: 2 });
  const b = await PgStore.open(url, { pool: 2 });
  t.teardown(async () => { await a.close(); await b.close(); });
  await twoReplicas(t, a, b);
});
