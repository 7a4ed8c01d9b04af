/**
 * The SQLite statements of the EST tables (migration 011), prepared with the others
 * (sqlite-statements.ts spreads them in).
 */
import type Database from 'better-sqlite3';

const SUPERSEDED = 'certificate_serial, serial, public_key, fingerprint_sha256, certificate_der, superseded_at, superseded_by';
const REQUEST = 'label, public_key, serial, csr_der, requested_by, requested_at, status, decided_by, decided_at';

/** Prepares the EST statements for one connection. */
export function prepareEstStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    // The current certificate moves in one statement, read from the row it leaves.
    supersededInsert: p(`INSERT INTO superseded_certificates (${SUPERSEDED})
      SELECT certificate_serial, serial, public_key, fingerprint_sha256, certificate_der, ?, ? FROM units
      WHERE serial = ? AND certificate_serial = ? RETURNING *`),
    unitSetCertificate: p(`UPDATE units SET public_key = ?, certificate_der = ?, fingerprint_sha256 = ?, certificate_serial = ?, updated_at = ?
      WHERE serial = ?`),
    unitExists: p('SELECT 1 FROM units WHERE serial = ?').pluck(),
    supersededGet: p(`SELECT ${SUPERSEDED} FROM superseded_certificates WHERE certificate_serial = ?`),
    supersededFor: p(`SELECT ${SUPERSEDED} FROM superseded_certificates WHERE serial = ? ORDER BY superseded_at, rowid`),
    supersededByKey: p(`SELECT ${SUPERSEDED} FROM superseded_certificates WHERE public_key = ? ORDER BY superseded_at, rowid`),
    requestGet: p(`SELECT ${REQUEST} FROM enrollment_requests WHERE label = ? AND public_key = ?`),
    requestUpsert: p(`INSERT INTO enrollment_requests (${REQUEST}) VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, NULL)
      ON CONFLICT (label, public_key) DO UPDATE SET csr_der = excluded.csr_der RETURNING ${REQUEST}`),
    requestDecide: p(`UPDATE enrollment_requests SET status = ?, decided_by = ?, decided_at = ?
      WHERE label = ? AND public_key = ? AND status = 'pending'`),
    // NULL parameters switch a filter off, so one prepared statement serves every combination.
    requestList: p(`SELECT ${REQUEST} FROM enrollment_requests
      WHERE (@status IS NULL OR status = @status) AND (@label IS NULL OR label = @label) AND (@serial IS NULL OR serial = @serial)
      ORDER BY requested_at, rowid LIMIT @limit`),
  };
}
