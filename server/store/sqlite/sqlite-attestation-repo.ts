/**
 * Key-origin evidence on SQLite (unit_attestations, migration 012): its statements, prepared with
 * the others (sqlite-statements.ts spreads them in), and the repository over them.
 */
import type Database from 'better-sqlite3';
import type { AttestationRepo } from '../attestation-repos.js';
import { ATTESTATION_COLUMNS, attestationParams, toAttestation } from '../attestation-rows.js';
import type { Row } from '../rows.js';
import type { SqliteTxContext } from './sqlite-tx-context.js';

/** Prepares the unit_attestations statements for one connection. */
export function prepareAttestationStatements(db: Database.Database) {
  return {
    attestationInsert: db.prepare(`INSERT INTO unit_attestations (${ATTESTATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    attestationGet: db.prepare(`SELECT ${ATTESTATION_COLUMNS} FROM unit_attestations WHERE serial = ?`),
  };
}

/** Key-origin evidence of units. */
export function createAttestationRepo(c: SqliteTxContext): AttestationRepo {
  const { s, run } = c;
  return {
    insertMany: (records) => run('unit attestations', () => {
      for (const a of records) s.attestationInsert.run(...attestationParams(a));
    }),
    get: (serial) => run(`attestation of ${serial}`, () => {
      const r = s.attestationGet.get(serial) as Row | undefined;
      return r ? toAttestation(r) : null;
    }),
  };
}
