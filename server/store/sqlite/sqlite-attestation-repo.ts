/**
 * Key-origin evidence on SQLite (unit_attestations, migration 012), over the statements of
 * sqlite-attestation-statements.ts.
 */
import type { AttestationRepo } from '../attestation-repos.js';
import { attestationParams, toAttestation } from '../attestation-rows.js';
import type { Row } from '../rows.js';
import type { SqliteTxContext } from './sqlite-tx-context.js';

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
