/**
 * Key-origin evidence on PostgreSQL (unit_attestations, migration 012). A batch's records go in
 * one statement (unnest), as the units they belong to do: every statement is a round trip, made
 * under the write lock.
 */
import type { AttestationRepo } from '../attestation-repos.js';
import { ATTESTATION_COLUMNS, attestationParams, toAttestation } from '../attestation-rows.js';
import type { PgTxContext } from './pg-tx-context.js';

/** Key-origin evidence of units. */
export function createAttestationRepo(c: PgTxContext): AttestationRepo {
  return {
    async insertMany(records) {
      if (records.length === 0) return;
      await c.writeLock();
      // One text[] per column, rows in order (attestationParams writes ATTESTATION_COLUMNS' order).
      const columns = Array.from({ length: 8 }, (_, i) => records.map((a) => attestationParams(a)[i]));
      await c.query('unit attestations', `INSERT INTO unit_attestations (${ATTESTATION_COLUMNS})
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`, columns);
    },
    async get(serial) {
      const r = (await c.query(`attestation of ${serial}`, `SELECT ${ATTESTATION_COLUMNS} FROM unit_attestations WHERE serial = $1`, [serial])).rows[0];
      return r ? toAttestation(r) : null;
    },
  };
}
