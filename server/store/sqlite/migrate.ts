/**
 * A tiny forward-only migrator: applies server/store/sqlite/migrations/NNN-name.sql in order,
 * each in its own write transaction, recording them in schema_migrations. Two processes starting
 * together are safe: BEGIN IMMEDIATE makes the second wait, then it sees the version applied.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { KeylineError } from '../../../common/errors.js';

/** The folder holding the shipped migrations. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads NNN-name.sql files from a folder, sorted by version; refuses gaps and duplicates. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = /^(\d{3})-([a-z0-9-]+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2]!, sql: readFileSync(`${dir}/${file}`, 'utf8') });
  }
  out.forEach((m, i) => {
    if (m.version !== i + 1) throw new KeylineError('STORE_ERROR', `migration ${m.version}-${m.name}: expected version ${i + 1}`);
  });
  return out;
}

/**
 * The first line of a migration that rebuilds a table other tables reference (SQLite cannot alter
 * a CHECK): it runs with foreign-key enforcement off, as sqlite.org/lang_altertable.html §7 says
 * such a rebuild must (PRAGMA foreign_keys is a no-op inside a transaction, so it is switched
 * around it), and commits only when PRAGMA foreign_key_check finds nothing.
 */
const FOREIGN_KEYS_OFF = /^-- keyline: foreign_keys off\r?\n/;

/** Applies every migration newer than the database's version; returns the versions applied. */
export function migrate(db: Database.Database, migrations: Migration[] = readMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
  const current = db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    const fkOff = FOREIGN_KEYS_OFF.test(m.sql);
    const apply = db.transaction(() => {
      // Re-read inside the write lock: another process may have applied it meanwhile.
      if ((current.get() as number) >= m.version) return;
      db.exec(m.sql);
      if (fkOff) {
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new KeylineError('STORE_ERROR', `migration ${m.version}-${m.name} would break ${broken.length} foreign key reference(s)`);
      }
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    });
    const enforced = fkOff ? (db.pragma('foreign_keys', { simple: true }) as number) : 0;
    if (fkOff) db.pragma('foreign_keys = OFF');
    try {
      apply.immediate();
    } finally {
      if (enforced) db.pragma('foreign_keys = ON');
    }
  }
  const latest = current.get() as number;
  if (latest > migrations.length) {
    throw new KeylineError('STORE_ERROR', `database schema version ${latest} is newer than this build (${migrations.length})`);
  }
  return applied;
}
