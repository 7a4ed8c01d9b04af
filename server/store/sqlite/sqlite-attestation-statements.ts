/**
 * The SQLite statements of unit_attestations (migration 012), prepared with the others
 * (sqlite-statements.ts spreads them in).
 */
import type Database from 'better-sqlite3';
import { ATTESTATION_COLUMNS } from '../attestation-rows.js';

/** Prepares the unit_attestations statements for one connection. */
export function prepareAttestationStatements(db: Database.Database) {
  return {
    attestationInsert: db.prepare(`INSERT INTO unit_attestations (${ATTESTATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    attestationGet: db.prepare(`SELECT ${ATTESTATION_COLUMNS} FROM unit_attestations WHERE serial = ?`),
  };
}
