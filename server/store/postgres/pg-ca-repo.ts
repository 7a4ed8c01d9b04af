/**
 * The CA lifecycle state on PostgreSQL (migration 009): activations of issuing CAs, the root's
 * CRLs and the ceremony transcript entries already imported into the audit log. Writes take the
 * write lock, as every write that the audit chain follows does (pg-tx-context.ts).
 */
import { KeylineError } from '../../../common/errors.js';
import type { CaRepo } from '../store.js';
import { toCaActivation, toRootCrl } from '../rows.js';
import type { PgTxContext } from './pg-tx-context.js';

/** Activations, root CRLs and imported transcript entries. */
export function createCaRepo(c: PgTxContext): CaRepo {
  return {
    async addActivation(a) {
      await c.writeLock();
      const r = await c.query(`ca activation ${a.keyId}`, `INSERT INTO ca_activations (key_id, activate_at, actor, created_at)
        VALUES ($1, $2, $3, $4) RETURNING *`, [a.keyId, a.activateAt, a.actor, c.now()]);
      return toCaActivation(r.rows[0]!);
    },
    async activations() {
      return (await c.query('ca activations', 'SELECT * FROM ca_activations ORDER BY seq')).rows.map(toCaActivation);
    },
    async lastActivationSeq() {
      return (await c.query('ca activation seq', 'SELECT coalesce(max(seq), 0) AS s FROM ca_activations')).rows[0]!.s as number;
    },
    async saveRootCrl(r) {
      await c.writeLock();
      // Under the write lock, so two imports cannot both pass the "greater than every stored number" test.
      const res = await c.query(`root crl ${r.number}`, `INSERT INTO root_crls (crl_number, this_update, next_update, der, imported_at)
        SELECT $1::bigint, $2::text, $3::text, $4::bytea, $5::text WHERE NOT EXISTS (SELECT 1 FROM root_crls WHERE crl_number >= $1::bigint)`, [r.number, r.thisUpdate, r.nextUpdate, r.der, c.now()]);
      if (res.rowCount !== 1) throw new KeylineError('CRL_NOT_NEWER', `root CRL number ${r.number}: not greater than the newest stored root CRL's`, { detail: { number: r.number } });
    },
    async latestRootCrl() {
      const r = (await c.query('root crl latest', 'SELECT * FROM root_crls ORDER BY crl_number DESC LIMIT 1')).rows[0];
      return r ? toRootCrl(r) : null;
    },
    async markTranscriptEntry(id, seq, hash) {
      await c.writeLock();
      const r = await c.query(`transcript ${id} #${seq}`, `INSERT INTO ceremony_imports (transcript_id, seq, hash, imported_at)
        VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [id, seq, hash, c.now()]);
      return r.rowCount === 1;
    },
  };
}
