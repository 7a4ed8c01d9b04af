/**
 * Row handling of the PostgreSQL store: BIGINT arrives as a number through PG_TYPES (every
 * BIGINT here is a counter or sequence far below 2^53, so nothing is lost); the row → record
 * mappers are shared with SQLite (../rows.ts).
 */
import pg from 'pg';

/** Type parsers for the pool: int8 (OID 20) as number instead of node-postgres' default string. */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** The unit columns, in the order the store reads and writes them. */
export const UNIT_COLUMNS = `serial, public_key, fingerprint_sha256, certificate_der, certificate_serial, work_order,
  station, status, status_reason, idempotency_key, issued_at, confirmed_at, updated_at`;
