/**
 * Revocations, the CRL state and enrollment state (nonces, counters) on PostgreSQL.
 */
import { KeylineError } from '../../../common/errors.js';
import { normaliseSerialHex, type CrlRepo, type EnrollmentRepo, type RevocationRepo } from '../store.js';
import type { PgTxContext } from './pg-tx-context.js';
import { CRL_LISTING_SQL, toCrl, toCrlListing, toEnrollment, toNonce, toRevocation } from '../rows.js';

/** Revocations; inserts hold the write lock, so `seq` order is commit order (listSince never skips one). */
export function createRevocationRepo(c: PgTxContext): RevocationRepo {
  const get = async (serial: string) => {
    const r = await c.query(`revocation ${serial}`, 'SELECT * FROM revoked_certificates WHERE certificate_serial = $1', [serial]);
    return r.rows[0] ? toRevocation(r.rows[0]) : null;
  };
  return {
    async add(r) {
      const serial = normaliseSerialHex(r.certificateSerial);
      await c.writeLock();
      await c.query(`revocation ${serial}`, `INSERT INTO revoked_certificates (certificate_serial, kind, subject, reason, revoked_at, revoked_by)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (certificate_serial) DO NOTHING`, [serial, r.kind, r.subject, r.reason, r.revokedAt, r.revokedBy]);
      return (await get(serial))!;
    },
    get: (serial) => get(normaliseSerialHex(serial)),
    async listSince(afterSeq, limit = -1) {
      // A negative limit means all (SQLite's LIMIT -1); LIMIT NULL is PostgreSQL's "no limit".
      const r = await c.query('revocations list', 'SELECT * FROM revoked_certificates WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit < 0 ? null : limit]);
      return r.rows.map((row) => ({ ...toRevocation(row), seq: row.seq as number }));
    },
    async lastSeq() {
      return (await c.query('revocations seq', 'SELECT coalesce(max(seq), 0) AS s FROM revoked_certificates')).rows[0]!.s as number;
    },
    async listForCrl() {
      // One text value for the whole list rather than a row object per revocation.
      const r = await c.query('revocations for the CRL', `SELECT string_agg(${CRL_LISTING_SQL}, chr(10) ORDER BY seq) AS list FROM revoked_certificates`);
      const list = r.rows[0]!.list as string | null;
      return list === null ? [] : list.split('\n').map(toCrlListing);
    },
  };
}

/** The CRL state, one row per issuing CA; save refuses a number that is not greater (RFC 5280 §5.2.3). */
export function createCrlRepo(c: PgTxContext): CrlRepo {
  return {
    async latest(issuerKeyId = '') {
      const r = (await c.query('crl latest', 'SELECT * FROM crl_state WHERE issuer_key_id = $1', [issuerKeyId])).rows[0];
      return r ? toCrl(r) : null;
    },
    async save(s) {
      await c.writeLock();
      // The WHERE on DO UPDATE is evaluated on the row as locked: two replicas saving at once
      // cannot both win, and a smaller number never replaces a greater one.
      const r = await c.query(`crl ${s.number}`, `INSERT INTO crl_state (issuer_key_id, crl_number, this_update, next_update, revocation_seq, der) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (issuer_key_id) DO UPDATE SET crl_number = excluded.crl_number, this_update = excluded.this_update,
        next_update = excluded.next_update, revocation_seq = excluded.revocation_seq, der = excluded.der
        WHERE excluded.crl_number > crl_state.crl_number`, [s.issuerKeyId ?? '', s.number, s.thisUpdate, s.nextUpdate, s.revocationSeq, s.der]);
      if (r.rowCount !== 1) throw new KeylineError('STORE_ERROR', `crl number ${s.number}: not greater than the stored CRL's number`);
    },
  };
}

/** Nonces (single use under a row lock) and device counters (read under the write lock). */
export function createEnrollmentRepo(c: PgTxContext): EnrollmentRepo {
  return {
    async addNonce(n) {
      await c.query(`nonce for ${n.serial}`, 'INSERT INTO enroll_nonces (nonce, serial, cert_fingerprint, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)',
        [n.nonce, n.serial, n.certFingerprint, n.expiresAt, c.now()]);
    },
    async useNonce(nonce) {
      // FOR UPDATE in the subquery locks the row; a concurrent caller waits, then (READ
      // COMMITTED re-reads a locked row's latest version) sees used = 1. Exactly one sees 0.
      const r = await c.query('nonce', `UPDATE enroll_nonces n SET used = 1
        FROM (SELECT nonce, used FROM enroll_nonces WHERE nonce = $1 FOR UPDATE) old
        WHERE n.nonce = old.nonce RETURNING n.nonce, n.serial, n.cert_fingerprint, n.expires_at, old.used AS was_used`, [nonce]);
      return r.rows[0] ? toNonce(r.rows[0], 'was_used') : null;
    },
    async purgeNonces(before) {
      // SKIP LOCKED: a nonce a proof holds (useNonce, taken before the write lock) is left for
      // the next purge. Waiting for it here, under the write lock the hello holds, could close
      // a cycle with that proof, which waits for the write lock next.
      return (await c.query('nonce purge', `DELETE FROM enroll_nonces WHERE nonce IN (
        SELECT nonce FROM enroll_nonces WHERE expires_at < $1 FOR UPDATE SKIP LOCKED)`, [before])).rowCount ?? 0;
    },
    async lastCounter(serial) {
      // In a write transaction the counter is read under the write lock and FOR UPDATE, and the
      // caller's setLastCounter commits before anyone else reads it: of two proofs carrying the
      // same counter (a replay racing the original on another replica) the second sees it used.
      await c.writeLock();
      const r = await c.query(`counter ${serial}`, `SELECT last_counter FROM device_counters WHERE serial = $1${c.readOnly ? '' : ' FOR UPDATE'}`, [serial]);
      return (r.rows[0]?.last_counter as number | undefined) ?? null;
    },
    async setLastCounter(serial, counter, at) {
      await c.writeLock();
      await c.query(`counter ${serial}`, `INSERT INTO device_counters (serial, last_counter, updated_at) VALUES ($1, $2, $3)
        ON CONFLICT (serial) DO UPDATE SET last_counter = excluded.last_counter, updated_at = excluded.updated_at`, [serial, counter, at]);
    },
    async get(serial) {
      await c.writeLock();
      const r = await c.query(`enrollment ${serial}`, 'SELECT * FROM enrollments WHERE serial = $1', [serial]);
      return r.rows[0] ? toEnrollment(r.rows[0]) : null;
    },
    async insert(e) {
      await c.writeLock();
      await c.guarded(`enrollment ${e.serial}`, 'INSERT INTO enrollments (serial, counter, grp, method, at) VALUES ($1, $2, $3, $4, $5)', [e.serial, e.counter, e.group, e.method, e.at]);
    },
    async bindCertificate(serial, at) {
      // Idempotent and per row: needs no write lock (ON CONFLICT settles two replicas racing).
      await c.query(`broker binding ${serial}`, `INSERT INTO broker_bindings (serial, bound_at) SELECT $1, $2
        WHERE EXISTS (SELECT 1 FROM units WHERE serial = $1) ON CONFLICT (serial) DO NOTHING`, [serial, at]);
    },
    async certificateBinding(serial) {
      const r = await c.query(`broker binding ${serial}`, 'SELECT bound_at FROM broker_bindings WHERE serial = $1', [serial]);
      return (r.rows[0]?.bound_at as string | undefined) ?? null;
    },
  };
}
