/**
 * Applies server/store/postgres/migrations/NNN-name.sql in order, in one transaction under a
 * transaction-scoped advisory lock: two replicas starting together migrate once (the second
 * waits for the lock, then finds every version recorded). PostgreSQL DDL is transactional, so
 * a failed migration leaves the schema as it was.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { KeylineError } from '../../../common/errors.js';
import { readMigrations, type Migration } from '../sqlite/migrate.js';
import { mapPgError } from './pg-errors.js';

/** The folder holding the PostgreSQL translations of the shipped migrations. */
export const PG_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Advisory lock key of the migrator ('KLmigrat' as a 64-bit integer). */
const MIGRATE_LOCK = '0x4b4c6d6967726174';

/** True when the database has Keyline's schema_migrations table. */
export async function hasSchema(client: pg.PoolClient): Promise<boolean> {
  const r = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  return r.rows[0]?.t != null;
}

/** Applies every migration newer than the database's version; returns the versions applied. */
export async function migratePg(client: pg.PoolClient, migrations: Migration[] = readMigrations(PG_MIGRATIONS_DIR)): Promise<number[]> {
  const applied: number[] = [];
  try {
    // READ WRITE: the store's sessions default to read only (pg-store.ts).
    await client.query('BEGIN READ WRITE');
    await client.query(`SELECT pg_advisory_xact_lock(${BigInt(MIGRATE_LOCK)})`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    // Read inside the lock: another replica may have applied everything meanwhile.
    const cur = Number((await client.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0]!.v);
    if (cur > migrations.length) {
      throw new KeylineError('STORE_ERROR', `database schema version ${cur} is newer than this build (${migrations.length})`);
    }
    for (const m of migrations) {
      if (m.version <= cur) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw mapPgError(err, 'postgres migrate');
  }
}
