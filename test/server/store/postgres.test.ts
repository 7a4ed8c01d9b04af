import Database from 'better-sqlite3';
import pg from 'pg';
import t from 'tap';
import { PgStore } from '../../../server/store/postgres/pg-store.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { freshPgDatabase, pgSkipReason } from '../../helpers/postgres.js';
import { storeSuite } from './store.suite.js';

// Each suite test gets its own database on this file's throw-away cluster; raw access goes
// through a separate pg client, as another process would.
const skip = pgSkipReason();
let url = '';
const raw = async (sql: string, params: unknown[] = []): Promise<void> => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql, params);
  } finally {
    await c.end();
  }
};

if (skip) {
  t.test('PostgreSQL store suite', { skip }, async () => {});
} else {
  storeSuite(t, {
    async open() {
      url = await freshPgDatabase();
      return PgStore.open(url, { pool: 4 });
    },
    raw: {
      insertUnitWithKey: (serial, keyHex, wo) =>
        raw(`INSERT INTO units (serial, public_key, fingerprint_sha256, certificate_der, certificate_serial, work_order, station, status, issued_at, updated_at)
          VALUES ($1, $2, $3, '\\x00', 'ff', $4, 's', 'issued', 'now', 'now')`, [serial, Buffer.from(keyHex, 'hex'), 'f'.repeat(64), wo]),
      updateAudit: (seq, action) => raw('UPDATE audit_log SET action = $1 WHERE seq = $2', [action, seq]),
      deleteAudit: (seq) => raw('DELETE FROM audit_log WHERE seq = $1', [seq]),
      tamperAudit: (seq, action) => raw(`DROP TRIGGER audit_log_no_update ON audit_log; UPDATE audit_log SET action = '${action.replace(/'/g, "''")}' WHERE seq = ${Number(seq)}`),
    },
  });
}

t.test('the PostgreSQL migrations mirror the SQLite ones: same tables, columns and nullability', { skip }, async (t) => {
  const file = `${t.testdir()}/mirror.db`;
  await new SqliteStore(file).close();
  const db = new Database(file, { readonly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]);
  const sqlite = tables.flatMap((table) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; notnull: number; pk: number }[])
    .map((c) => `${table}.${c.name}${c.notnull || c.pk ? ' not null' : ''}`)).sort();
  db.close();
  url = await freshPgDatabase();
  await (await PgStore.open(url)).close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query<{ t: string; c: string; n: string }>(`SELECT table_name AS t, column_name AS c, is_nullable AS n
    FROM information_schema.columns WHERE table_schema = 'public'`);
  await c.end();
  // revoked_certificates.seq makes SQLite's implicit rowid explicit (listSince polls it).
  const postgres = r.rows.map((x) => `${x.t}.${x.c}${x.n === 'NO' ? ' not null' : ''}`).filter((x) => !x.startsWith('revoked_certificates.seq')).sort();
  t.same(postgres, sqlite);
});

t.test('migration 013 (issue 13): the audit log keeps no UNIQUE (hash); the units keep every uniqueness', { skip }, async (t) => {
  url = await freshPgDatabase();
  await (await PgStore.open(url)).close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.teardown(() => c.end());
  const uniques = await c.query<{ t: string; def: string }>(`SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint
    WHERE contype IN ('u', 'p') AND conrelid::regclass::text IN ('units', 'audit_log', 'registrations') ORDER BY 1, 2`);
  t.same(uniques.rows.map((r) => `${r.t} ${r.def}`), [
    'audit_log PRIMARY KEY (seq)',
    'registrations UNIQUE (serial, registry)',
    'units PRIMARY KEY (serial)',
    'units UNIQUE (certificate_serial)',
    'units UNIQUE (fingerprint_sha256)',
    'units UNIQUE (public_key)',
  ]);
});
