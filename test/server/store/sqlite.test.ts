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

t.test('openStore: URL forms', async (t) => {
  await t.rejects(openStore('postgres://db/keyline'), { code: 'NOT_SUPPORTED' });
  await t.rejects(openStore('sqlite:relative.db'), { code: 'CONFIG_INVALID' });
  await t.rejects(openStore('mysql://x'), { code: 'CONFIG_INVALID' });
  await t.rejects(openStore(`sqlite:${t.testdir()}/x.db?synchronous=off`), { code: 'CONFIG_INVALID' });
  const s = await openStore(`sqlite:${t.testdir()}/y.db?synchronous=full`);
  await s.close();
});
