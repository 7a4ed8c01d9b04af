import Database from 'better-sqlite3';
import t from 'tap';
import { readMigrations } from '../../../server/store/sqlite/migrate.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { openStore } from '../../../server/store/open-store.js';
import { storeSuite } from './store.suite.js';

// Each suite test gets its own database file in a tap test dir; raw access opens a second
// connection to the same file, which is also how another process would see it.
let path = '';
const raw = <T>(fn: (db: Database.Database) => T): Promise<T> => {
  const db = new Database(path);
  try {
    return Promise.resolve(fn(db));
  } catch (err) {
    return Promise.reject(err);
  } finally {
    db.close();
  }
};

storeSuite(t, {
  async open() {
    path = `${t.testdir()}/store-${Math.random().toString(36).slice(2)}.db`;
    return new SqliteStore(path);
  },
  raw: {
    insertUnitWithKey: (serial, keyHex, wo) =>
      raw((db) => {
        db.prepare(`INSERT INTO units (serial, public_key, fingerprint_sha256, certificate_der, certificate_serial, work_order, station, status, issued_at, updated_at)
          VALUES (?, ?, ?, x'00', ?, ?, 's', 'issued', 'now', 'now')`).run(serial, Buffer.from(keyHex, 'hex'), 'f'.repeat(64), 'ff', wo);
      }),
    updateAudit: (seq, action) => raw((db) => void db.prepare('UPDATE audit_log SET action = ? WHERE seq = ?').run(action, seq)),
    deleteAudit: (seq) => raw((db) => void db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq)),
    tamperAudit: (seq, action) =>
      raw((db) => {
        db.exec('DROP TRIGGER audit_log_no_update');
        db.prepare('UPDATE audit_log SET action = ? WHERE seq = ?').run(action, seq);
      }),
  },
});

t.test('SQLite specifics: WAL, migrations recorded once, two connections share one chain', async (t) => {
  const file = `${t.testdir()}/k.db`;
  const a = new SqliteStore(file);
  const b = (await openStore(`sqlite:${file}`)) as SqliteStore;
  t.teardown(async () => { await a.close(); await b.close(); });
  const db = new Database(file, { readonly: true });
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  // Every shipped migration, each recorded exactly once though two connections opened the file.
  const shipped = readMigrations().map((m) => m.version);
  t.same(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), shipped);
  t.ok(shipped.length >= 2 && shipped[0] === 1, 'versions start at 1');
  db.close();
  // Interleave appends from two connections (as two server processes would): one unbroken chain.
  for (let i = 0; i < 10; i++) {
    await (i % 2 ? a : b).transaction((tx) => tx.audit.append({ action: 'x', actor: i % 2 ? 'a' : 'b' }));
  }
  const { verifyAuditChain } = await import('../../../server/audit/audit-log.js');
  t.match(await verifyAuditChain(a), { ok: true, count: 10 });
});

// Two connections in one process take turns (a second BEGIN IMMEDIATE while the first is open
// would block this thread's event loop); they stand for two processes sharing the file.
t.test('SQLite: two connections on one file: one lease holder, no job claimed twice', async (t) => {
  const file = `${t.testdir()}/race.db`;
  const a = new SqliteStore(file);
  const b = new SqliteStore(file);
  t.teardown(async () => { await a.close(); await b.close(); });
  const now = '2026-01-02T00:00:00.000Z';
  const until = '2026-01-02T00:01:00.000Z';
  const wins: boolean[] = [];
  for (const [i, s] of [a, b, a, b].entries()) wins.push(await s.transaction((tx) => tx.leases.acquire('crl', `h${i}`, now, until)));
  t.same(wins, [true, false, false, false]);
  t.same(await b.transaction((tx) => tx.leases.get('crl')), { holder: 'h0', until });
  await a.transaction(async (tx) => {
    await tx.workOrders.create({ id: 'WO-1', product: 'P', quota: 50, stations: null, createdAt: now });
    for (let i = 0; i < 20; i++) {
      const serial = '0123' + i.toString(16).toUpperCase().padStart(12, '0') + 'EE';
      await tx.units.insert({ serial, publicKey: Buffer.alloc(64, i + 1), fingerprintSha256: String(i).padStart(64, '0'), certificateDer: Buffer.from([i]),
        certificateSerial: (i + 1).toString(16), workOrder: 'WO-1', station: 's', status: 'issued', statusReason: null, idempotencyKey: null,
        issuedAt: now, confirmedAt: null, updatedAt: now });
      await tx.outbox.enqueue({ serial, registry: 'self', action: 'register', at: now });
    }
  });
  const ids: number[] = [];
  for (const s of [a, b, a, b]) ids.push(...(await s.transaction((tx) => tx.outbox.claimDue(now, until, 7))).map((j) => j.id));
  t.equal(ids.length, 20);
  t.equal(new Set(ids).size, 20, 'no job claimed twice');
});

t.test('openStore: URL forms', async (t) => {
  await t.rejects(openStore('sqlite:relative.db'), { code: 'CONFIG_INVALID' });
  await t.rejects(openStore('mysql://x'), { code: 'CONFIG_INVALID' });
  await t.rejects(openStore(`sqlite:${t.testdir()}/x.db?synchronous=off`), { code: 'CONFIG_INVALID' });
  const s = await openStore(`sqlite:${t.testdir()}/y.db?synchronous=full`);
  await s.close();
});

t.test('migration 012 (issue 15) on a database with units: tables rebuilt, every row and reference kept', async (t) => {
  const { migrate } = await import('../../../server/store/sqlite/migrate.js');
  const db = new Database(`${t.testdir()}/pre-012.db`);
  t.teardown(() => db.close());
  db.pragma('foreign_keys = ON');
  const all = readMigrations();
  migrate(db, all.slice(0, 11));
  const serial = '0123456789ABCDEF01';
  db.exec(`INSERT INTO work_orders (id, product, quota, created_at) VALUES ('WO', 'P', 10, 't');
    INSERT INTO units VALUES ('${serial}', randomblob(64), '${'a'.repeat(64)}', x'00', '01', 'WO', 's', 'confirmed', NULL, NULL, 't', 't', 't');
    INSERT INTO device_counters VALUES ('${serial}', 3, 't');
    INSERT INTO enrollments VALUES ('${serial}', 3, 'g', 'challenge', 't');
    INSERT INTO outbox_jobs (serial, registry, action, next_attempt_at, created_at) VALUES ('${serial}', 'self', 'register', 't', 't');
    INSERT INTO enroll_nonces VALUES ('${'b'.repeat(64)}', '${serial}', '${'c'.repeat(64)}', 't', 0, 't');`);
  t.same(migrate(db, all.slice(0, 12)), [12]);
  t.equal(db.pragma('foreign_keys', { simple: true }), 1, 'enforcement back on after the migration');
  t.same(db.pragma('foreign_key_check'), []);
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  t.same(db.prepare('SELECT status FROM units').pluck().all(), ['confirmed']);
  t.same(db.prepare("SELECT count(*) FROM device_counters JOIN enrollments USING (serial) JOIN enroll_nonces USING (serial)").pluck().get(), 1);
  t.same(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'units_%' ORDER BY name").pluck().all(), ['units_status', 'units_work_order']);
  t.match(db.prepare('SELECT chip, require_attestation FROM work_orders').get(), { chip: 'atecc608', require_attestation: 0 });
  // The children still reference units: an orphan counter is refused.
  t.throws(() => db.exec(`INSERT INTO device_counters VALUES ('${'B'.repeat(36)}', 1, 't')`), /FOREIGN KEY/);
});

t.test('migration 013 (issue 13): the audit log rebuilt with every record, still append-only; fewer per-unit indexes', async (t) => {
  const { migrate } = await import('../../../server/store/sqlite/migrate.js');
  const { chainRecord } = await import('../../../server/store/audit-chain.js');
  const { verifyAuditChain } = await import('../../../server/audit/audit-log.js');
  const file = `${t.testdir()}/pre-013.db`;
  const db = new Database(file);
  migrate(db, readMigrations().slice(0, 12));
  const insert = db.prepare('INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  let last: { seq: number; hash: string } | undefined;
  for (let i = 0; i < 3; i++) {
    const r = chainRecord({ actor: 's1', action: 'unit.issued', subject: `0123456789ABCDEF0${i}`, detail: { i } }, last, `2026-01-0${i + 1}T00:00:00.000Z`);
    insert.run(r.seq, r.at, r.actor, r.action, r.subject, r.detail, r.prevHash, r.hash);
    last = r;
  }
  db.close();
  const store = new SqliteStore(file); // applies 013
  t.teardown(() => store.close());
  t.match(await verifyAuditChain(store), { ok: true, count: 3 }, 'every record kept, the chain verifies');
  t.same((await store.transaction((tx) => tx.audit.listBySubject(['0123456789ABCDEF01'], 10))).map((r) => r.seq), [2]);
  const after = new Database(file);
  t.teardown(() => after.close());
  t.throws(() => after.exec("UPDATE audit_log SET actor = 'x'"), /append-only/);
  t.throws(() => after.exec('DELETE FROM audit_log'), /append-only/);
  t.same(after.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('units', 'audit_log') AND sql IS NOT NULL ORDER BY name").pluck().all(),
    ['audit_log_subject', 'units_work_order']);
  t.match(after.prepare('EXPLAIN QUERY PLAN SELECT station, status, count(*) FROM units WHERE work_order = ? GROUP BY station, status ORDER BY station, status').all('WO')[0],
    { detail: /COVERING INDEX units_work_order/ }, 'a work order\'s unit counts read from the index alone');
  // The uniqueness that keeps one key out of two devices is the table's own, unchanged.
  const unit = (serial: string, key: string, fp: string, cs: string) => `INSERT INTO units VALUES ('${serial}', x'${key}', '${fp}', x'00', '${cs}', 'WO', 's', 'issued', NULL, NULL, 't', NULL, 't')`;
  after.exec(`INSERT INTO work_orders (id, product, quota, created_at) VALUES ('WO', 'P', 10, 't'); ${unit('0123456789ABCDEF01', 'aa'.repeat(64), 'a'.repeat(64), '01')}`);
  t.throws(() => after.exec(unit('0123456789ABCDEF02', 'aa'.repeat(64), 'b'.repeat(64), '02')), /UNIQUE.*public_key/);
  t.throws(() => after.exec(unit('0123456789ABCDEF02', 'bb'.repeat(64), 'a'.repeat(64), '02')), /UNIQUE.*fingerprint/);
  t.throws(() => after.exec(unit('0123456789ABCDEF02', 'bb'.repeat(64), 'b'.repeat(64), '01')), /UNIQUE.*certificate_serial/);
  t.throws(() => after.exec(unit('0123456789ABCDEF01', 'bb'.repeat(64), 'b'.repeat(64), '02')), /UNIQUE.*serial/);
});
