/**
 * Issue 7's guarantees across replicas: two PgStores (two pools, as two server processes) on one
 * database race for the same quota, nonce, counter, outbox jobs, lease, CRL number and audit
 * chain. Each test fails if the guarantee it names is broken.
 */
import pg from 'pg';
import t, { type Test } from 'tap';
import { verifyAuditChain } from '../../../server/audit/audit-log.js';
import { openStore } from '../../../server/store/open-store.js';
import { PG_MIGRATIONS_DIR } from '../../../server/store/postgres/pg-migrate.js';
import { PgStore } from '../../../server/store/postgres/pg-store.js';
import { readMigrations } from '../../../server/store/sqlite/migrate.js';
import type { Store } from '../../../server/store/store.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { buildUnit, buildWorkOrder } from './build.js';

const skip = pgSkipReason();
const T0 = '2026-01-02T00:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two replicas on one fresh database, with WO-1 (quota `quota`) and `units` units. */
async function twoReplicas(t: Test, o: { quota?: number; units?: number } = {}) {
  const url = await freshPgDatabase();
  // queueWrites off: each store's own transactions contend in the database too, so the races
  // below are between ten connections, as between many replicas.
  const a = await PgStore.open(url, { pool: 5, queueWrites: false });
  const b = await PgStore.open(url, { pool: 5, queueWrites: false });
  t.teardown(async () => { await a.close(); await b.close(); });
  const serials: string[] = [];
  await a.transaction(async (tx) => {
    await tx.workOrders.create(buildWorkOrder({ quota: o.quota ?? 10 }));
    for (let i = 0; i < (o.units ?? 0); i++) {
      const u = buildUnit();
      serials.push(u.serial);
      await tx.units.insert(u);
    }
  });
  return { url, a, b, serials, both: [a, b] as Store[] };
}

/** Runs n attempts alternating between the replicas; returns the settled results. */
const race = <T>(stores: Store[], n: number, fn: (s: Store, i: number) => Promise<T>) =>
  Promise.allSettled(Array.from({ length: n }, (_, i) => fn(stores[i % stores.length]!, i)));

t.test('postgres replicas', { skip }, async (t) => {
  t.test('quota: concurrent issues from two replicas stop exactly at the quota', async (t) => {
    const { a, both } = await twoReplicas(t, { quota: 25 });
    // The issue pipeline's shape: read the order, decide, then increment, with an await between.
    const results = await race(both, 80, (s) => s.transaction(async (tx) => {
      const wo = await tx.workOrders.get('WO-1');
      await pause(1);
      if (wo!.issued >= wo!.quota) return 'refused';
      await tx.workOrders.incrementIssued('WO-1');
      return 'issued';
    }));
    const issued = results.filter((r) => r.status === 'fulfilled' && r.value === 'issued').length;
    t.equal(issued, 25, 'exactly quota increments succeeded');
    t.same(results.filter((r) => r.status === 'rejected'), [], 'no transaction failed (no deadlock, no lost update)');
    t.equal((await a.transaction((tx) => tx.workOrders.get('WO-1')))!.issued, 25);
    // Bare increments with no read first: the conditional UPDATE alone refuses the excess.
    await a.transaction((tx) => tx.workOrders.create(buildWorkOrder({ id: 'WO-2', quota: 7 })));
    const bare = await race(both, 30, (s) => s.transaction((tx) => tx.workOrders.incrementIssued('WO-2')));
    t.equal(bare.filter((r) => r.status === 'fulfilled').length, 7);
    t.ok(bare.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.code === 'QUOTA_EXCEEDED'));
    t.equal((await a.transaction((tx) => tx.workOrders.get('WO-2')))!.issued, 7);
  });

  t.test('nonce: of concurrent useNonce calls on two replicas exactly one sees it unused', async (t) => {
    const { a, both } = await twoReplicas(t);
    for (let round = 0; round < 5; round++) {
      const nonce = `${round}`.padStart(64, 'a');
      await a.transaction((tx) => tx.enrollment.addNonce({ nonce, serial: '0123000000000001EE', certFingerprint: 'c'.repeat(64), expiresAt: at(60) }));
      const results = await race(both, 12, (s) => s.transaction((tx) => tx.enrollment.useNonce(nonce)));
      const states = results.map((r) => (r.status === 'fulfilled' ? r.value?.used : 'error'));
      t.equal(states.filter((u) => u === false).length, 1, `round ${round}: one winner`);
      t.equal(states.filter((u) => u === true).length, 11, `round ${round}: the others see it used`);
    }
  });

  t.test('nonce purge under the write lock never waits for a proof holding that nonce (no deadlock)', async (t) => {
    const { a, b, serials } = await twoReplicas(t, { units: 1 });
    const nonce = 'e'.repeat(64);
    await a.transaction((tx) => tx.enrollment.addNonce({ nonce, serial: serials[0]!, certFingerprint: 'c'.repeat(64), expiresAt: at(1) }));
    let proofHoldsNonce!: () => void;
    const held = new Promise<void>((r) => (proofHoldsNonce = r));
    // The proof's order: nonce row lock first, then the write lock (checkUnitStanding).
    const proof = a.transaction(async (tx) => {
      await tx.enrollment.useNonce(nonce);
      proofHoldsNonce();
      await pause(300);
      return (await tx.units.getBySerial(serials[0]!))?.serial;
    });
    await held;
    // A hello on the other replica: write lock first, then the occasional purge past that nonce's expiry.
    const hello = b.transaction(async (tx) => {
      await tx.units.getBySerial(serials[0]!);
      await pause(100);
      return tx.enrollment.purgeNonces(at(2));
    });
    const [p, h] = await Promise.allSettled([proof, hello]);
    t.same([p.status, h.status], ['fulfilled', 'fulfilled'], 'both committed');
    t.equal((h as PromiseFulfilledResult<number>).value, 0, 'the locked nonce was skipped');
    t.equal(await a.transaction((tx) => tx.enrollment.purgeNonces(at(2))), 1, 'and purged next time');
  });

  t.test('counters: a replayed counter cannot win a race between replicas', async (t) => {
    const { both, serials } = await twoReplicas(t, { units: 1 });
    const serial = serials[0]!;
    // The proof's shape (enrollment-service.ts): read last, compare, await, write.
    const proof = (s: Store, counter: number) => s.transaction(async (tx) => {
      const last = await tx.enrollment.lastCounter(serial);
      if (last !== null && counter <= last) return 'replayed';
      await pause(2);
      await tx.enrollment.setLastCounter(serial, counter, T0);
      return 'accepted';
    });
    for (const counter of [5, 6, 7]) {
      const results = await race(both, 10, (s) => proof(s, counter));
      const values = results.map((r) => (r.status === 'fulfilled' ? r.value : 'error'));
      t.equal(values.filter((v) => v === 'accepted').length, 1, `counter ${counter}: accepted once`);
      t.equal(values.filter((v) => v === 'replayed').length, 9, `counter ${counter}: the rest are replays`);
    }
  });

  t.test('uniqueness: the same serial or key from two replicas is recorded once', async (t) => {
    const { a, b } = await twoReplicas(t, { quota: 100 });
    for (let i = 0; i < 5; i++) {
      const u = buildUnit();
      const r = await Promise.allSettled([a.transaction((tx) => tx.units.insert(u)), b.transaction((tx) => tx.units.insert({ ...buildUnit(), serial: u.serial }))]);
      t.equal(r.filter((x) => x.status === 'fulfilled').length, 1);
      t.match(r.find((x) => x.status === 'rejected'), { reason: { code: 'SERIAL_EXISTS' } });
      const k = buildUnit();
      const r2 = await Promise.allSettled([a.transaction((tx) => tx.units.insert(k)), b.transaction((tx) => tx.units.insert({ ...buildUnit(), publicKey: k.publicKey }))]);
      t.equal(r2.filter((x) => x.status === 'fulfilled').length, 1);
      t.match(r2.find((x) => x.status === 'rejected'), { reason: { code: 'DUPLICATE_KEY' } });
    }
    // A refused insert leaves its transaction usable (the caller records the refusal and goes on).
    const u = buildUnit();
    await a.transaction((tx) => tx.units.insert(u));
    const after = await b.transaction(async (tx) => {
      await t.rejects(tx.units.insert({ ...buildUnit(), publicKey: u.publicKey }), { code: 'DUPLICATE_KEY', detail: { existingSerial: u.serial } });
      await t.rejects(tx.workOrders.create(buildWorkOrder()), { code: 'WORK_ORDER_EXISTS' });
      return tx.audit.append({ action: 'unit.duplicate_key', actor: 'b' });
    });
    t.equal(after.seq, 1, 'the transaction committed after two refusals');
  });

  t.test('outbox: concurrent claims are disjoint; an expired lease is claimable again', async (t) => {
    const { a, both, serials } = await twoReplicas(t, { units: 60 });
    await a.transaction(async (tx) => {
      for (const serial of serials) await tx.outbox.enqueue({ serial, registry: 'self', action: 'register', at: T0 });
    });
    const claimed = await race(both, 24, (s) => s.transaction((tx) => tx.outbox.claimDue(at(1), at(60), 4)));
    const ids = claimed.flatMap((r) => (r.status === 'fulfilled' ? r.value.map((j) => j.id) : []));
    t.equal(new Set(ids).size, ids.length, 'no job claimed twice');
    t.equal(ids.length, 60, 'every job claimed once');
    t.same(await a.transaction((tx) => tx.outbox.claimDue(at(30), at(90), 100)), [], 'nothing due while leases run');
    // The claiming replica "died": its leases expire at 60 s and the jobs are due again.
    const again = await race(both, 6, (s) => s.transaction((tx) => tx.outbox.claimDue(at(61), at(120), 20)));
    const ids2 = again.flatMap((r) => (r.status === 'fulfilled' ? r.value.map((j) => j.id) : []));
    t.equal(new Set(ids2).size, 60, 'all 60 re-claimed after expiry, once each');
    t.equal(ids2.length, 60);
  });

  t.test('leases: of replicas racing for a free or expired lease exactly one holds it', async (t) => {
    const { a, both } = await twoReplicas(t);
    for (const [round, now] of [[0, 0], [1, 100], [2, 200]] as const) {
      const wins = await race(both, 10, (s, i) => s.transaction((tx) => tx.leases.acquire('crl', `r${round}-${i}`, at(now), at(now + 30))));
      const winners = wins.flatMap((w, i) => (w.status === 'fulfilled' && w.value ? [`r${round}-${i}`] : []));
      t.equal(winners.length, 1, `round ${round}: one holder`);
      t.same(await a.transaction((tx) => tx.leases.get('crl')), { holder: winners[0], until: at(now + 30) });
    }
  });

  t.test('CRL: two replicas saving the same number: one wins, the number never goes back', async (t) => {
    const { a, b } = await twoReplicas(t);
    const crl = (n: number) => ({ number: n, thisUpdate: T0, nextUpdate: at(3600), revocationSeq: 0, der: Buffer.from([n]) });
    const r = await Promise.allSettled([a.transaction((tx) => tx.crls.save(crl(5))), b.transaction((tx) => tx.crls.save(crl(5)))]);
    t.equal(r.filter((x) => x.status === 'fulfilled').length, 1);
    t.match(r.find((x) => x.status === 'rejected'), { reason: { code: 'STORE_ERROR' } });
    await t.rejects(b.transaction((tx) => tx.crls.save(crl(4))), { code: 'STORE_ERROR' });
    t.equal((await a.transaction((tx) => tx.crls.latest()))!.number, 5);
  });

  t.test('audit: appends from two replicas form one chain; revocation seq is commit order', async (t) => {
    const { a, both } = await twoReplicas(t);
    const r = await race(both, 60, (s, i) => s.transaction(async (tx) => {
      await tx.audit.append({ action: 'x', actor: `r${i % 2}`, detail: { i } });
      await pause(i % 3);
      if (i % 4 === 0) await tx.revocations.add({ certificateSerial: (i + 1).toString(16), kind: 'other', subject: null, reason: 'unspecified', revokedAt: T0, revokedBy: 'x' });
      await tx.audit.append({ action: 'y', actor: `r${i % 2}` });
    }));
    t.same(r.filter((x) => x.status === 'rejected'), []);
    t.match(await verifyAuditChain(a), { ok: true, count: 120 });
    const revs = await a.transaction((tx) => tx.revocations.listSince(0));
    t.same(revs.map((x) => x.seq), Array.from({ length: 15 }, (_, i) => i + 1), 'revocation seqs 1..15, no gaps');
  });

  t.test('migrations: two replicas opening a new database together migrate it once', async (t) => {
    const url = await freshPgDatabase();
    const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)]);
    t.teardown(() => Promise.all(stores.map((s) => s.close())));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const versions = (await c.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
    await c.end();
    // Every shipped migration, once each (the list grows with the schema).
    t.same(versions, readMigrations(PG_MIGRATIONS_DIR).map((m) => m.version));
  });

  t.test('openStore: postgres URLs, pool size, mustExist', async (t) => {
    const url = await freshPgDatabase();
    await t.rejects(openStore(url, { mustExist: true }), { code: 'STORE_ERROR' }, 'no schema: refused, not created');
    await t.rejects(openStore(`${url}?pool=lots`), { code: 'CONFIG_INVALID' });
    const s = await openStore(`${url.replace(/^postgres:/, 'postgresql:')}?pool=2`);
    await s.transaction((tx) => tx.workOrders.create(buildWorkOrder()));
    await s.close();
    const again = await openStore(url, { mustExist: true });
    t.equal((await again.transaction((tx) => tx.workOrders.get('WO-1'), { readOnly: true }))?.id, 'WO-1');
    await t.rejects(again.transaction((tx) => tx.audit.append({ action: 'x', actor: 'y' }), { readOnly: true }), { code: 'STORE_ERROR' });
    await again.close();
  });

  t.test('driver errors: STORE_ERROR without SQL; caller errors pass through', async (t) => {
    const { a, url } = await twoReplicas(t);
    const port = new URL(url).port;
    // A port nothing listens on (the cluster's own port + 1 is almost surely free).
    await t.rejects(PgStore.open(`postgres://postgres@127.0.0.1:${Number(port) + 1}/x`), { code: 'STORE_ERROR' });
    const mine = new Error('mine');
    await t.rejects(a.transaction(async () => { throw mine; }), mine);
    // A CHECK violation (serial not 18 hex digits) is a driver error the store has no code for.
    const err = await a.transaction((tx) => tx.units.insert(buildUnit({ serial: 'not-a-serial' }))).catch((e: unknown) => e);
    t.equal((err as { code?: string }).code, 'STORE_ERROR');
    t.notMatch((err as Error).message, /INSERT|VALUES|not-a-serial.*check/i, 'no SQL in the message');
  });
});

t.test('a replica whose connections are cut recovers on its next transaction', { skip }, async (t) => {
  const url = await freshPgDatabase();
  const a = await PgStore.open(url, { pool: 2 });
  t.teardown(() => a.close());
  await a.transaction((tx) => tx.workOrders.create(buildWorkOrder()));
  // As a database restart or failover would: every session of this database is terminated.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const killed = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'keyline'");
  await admin.end();
  t.ok(killed.rowCount! >= 1, 'the pooled session was terminated');
  await pause(100);
  // The pool drops the dead connection; at most the first use fails, and with STORE_ERROR.
  const first = await a.transaction((tx) => tx.workOrders.get('WO-1'), { readOnly: true }).catch((e: { code?: string }) => e);
  if (!(first && 'id' in first)) t.match(first, { code: 'STORE_ERROR' });
  t.equal((await a.transaction((tx) => tx.workOrders.get('WO-1'), { readOnly: true }))?.id, 'WO-1');
  t.equal((await a.transaction((tx) => tx.audit.append({ action: 'x', actor: 'y' }))).seq, 1);
});

t.test('outbox extras SqliteStore also has: the idle probe and job counts', { skip }, async (t) => {
  const url = await freshPgDatabase();
  const s = await PgStore.open(url, { pool: 2 });
  t.teardown(() => s.close());
  type Extras = { anyDue(now: string): Promise<boolean>; jobCounts(): Promise<unknown[]> };
  const u = buildUnit();
  await s.transaction(async (tx) => {
    await tx.workOrders.create(buildWorkOrder());
    await tx.units.insert(u);
    await tx.outbox.enqueue({ serial: u.serial, registry: 'self', action: 'register', at: at(10) });
    await tx.outbox.enqueue({ serial: u.serial, registry: 'aws', action: 'register', at: at(10) });
  });
  const extras = (fn: (o: Extras) => Promise<unknown>) => s.transaction((tx) => fn(tx.outbox as unknown as Extras), { readOnly: true });
  t.equal(await extras((o) => o.anyDue(at(5))), false, 'nothing due before 10 s');
  t.equal(await extras((o) => o.anyDue(at(10))), true);
  await s.transaction((tx) => tx.outbox.claimDue(at(10), at(60), 10));
  t.equal(await extras((o) => o.anyDue(at(30))), false, 'leased jobs are not due');
  t.same(await extras((o) => o.jobCounts()), [
    { registry: 'aws', action: 'register', status: 'pending', count: 1 },
    { registry: 'self', action: 'register', status: 'pending', count: 1 },
  ]);
});
