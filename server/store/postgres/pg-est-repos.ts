/**
 * The EST tables on PostgreSQL (migration 011): superseded certificates and enrollment requests
 * awaiting approval. Writes take the write lock first, as every write the audit chain follows
 * does (pg-tx-context.ts), so a re-enrollment's check and its write see one state.
 */
import { KeylineError } from '../../../common/errors.js';
import type { EnrollmentRequestRepo, SupersededRepo } from '../est-repos.js';
import { toEnrollmentRequest, toSuperseded } from '../est-rows.js';
import type { PgTxContext } from './pg-tx-context.js';

const SUPERSEDED = 'certificate_serial, serial, public_key, fingerprint_sha256, certificate_der, superseded_at, superseded_by';
const REQUEST = 'label, public_key, serial, csr_der, requested_by, requested_at, status, decided_by, decided_at';

/** Superseded certificates. */
export function createSupersededRepo(c: PgTxContext): SupersededRepo {
  return {
    async supersede(serial, expected, next, at) {
      await c.writeLock();
      // The current certificate moves in one statement, read from the row it leaves.
      const moved = await c.query(`supersede ${serial}`, `INSERT INTO superseded_certificates (${SUPERSEDED})
        SELECT certificate_serial, serial, public_key, fingerprint_sha256, certificate_der, $1::text, $2::text FROM units
        WHERE serial = $3 AND certificate_serial = $4 RETURNING *`, [at, next.certificateSerial, serial, expected]);
      if (moved.rowCount !== 1) {
        const exists = await c.query(`supersede ${serial}`, 'SELECT 1 FROM units WHERE serial = $1', [serial]);
        if (exists.rowCount === 0) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`, { detail: { serial } });
        throw new KeylineError('STORE_ERROR', `supersede ${serial}: its certificate is no longer ${expected}`);
      }
      await c.query(`supersede ${serial}`, `UPDATE units SET public_key = $1, certificate_der = $2, fingerprint_sha256 = $3, certificate_serial = $4, updated_at = $5
        WHERE serial = $6`, [next.publicKey, next.certificateDer, next.fingerprintSha256, next.certificateSerial, at, serial]);
      return toSuperseded(moved.rows[0]!);
    },
    async get(certificateSerial) {
      const r = (await c.query(`superseded ${certificateSerial}`, `SELECT ${SUPERSEDED} FROM superseded_certificates WHERE certificate_serial = $1`, [certificateSerial])).rows[0];
      return r ? toSuperseded(r) : null;
    },
    async listFor(serial) {
      return (await c.query(`superseded of ${serial}`, `SELECT ${SUPERSEDED} FROM superseded_certificates WHERE serial = $1 ORDER BY superseded_at, certificate_serial`, [serial])).rows.map(toSuperseded);
    },
    async findByPublicKey(publicKey) {
      return (await c.query('superseded by key', `SELECT ${SUPERSEDED} FROM superseded_certificates WHERE public_key = $1 ORDER BY superseded_at, certificate_serial`, [publicKey])).rows.map(toSuperseded);
    },
  };
}

/** Enrollment requests awaiting an operator. */
export function createEnrollmentRequestRepo(c: PgTxContext): EnrollmentRequestRepo {
  return {
    async get(label, publicKey) {
      const r = (await c.query(`enrollment request ${label}`, `SELECT ${REQUEST} FROM enrollment_requests WHERE label = $1 AND public_key = $2`, [label, publicKey])).rows[0];
      return r ? toEnrollmentRequest(r) : null;
    },
    async upsert(r) {
      await c.writeLock();
      const res = await c.query(`enrollment request ${r.label} ${r.serial}`, `INSERT INTO enrollment_requests (${REQUEST})
        VALUES ($1, $2, $3, $4, $5, $6, 'pending', NULL, NULL)
        ON CONFLICT (label, public_key) DO UPDATE SET csr_der = excluded.csr_der RETURNING ${REQUEST}`,
      [r.label, r.publicKey, r.serial, r.csrDer, r.requestedBy, r.requestedAt]);
      return toEnrollmentRequest(res.rows[0]!);
    },
    async decide(label, publicKey, status, by, at) {
      await c.writeLock();
      const res = await c.query(`enrollment request ${label} ${status}`, `UPDATE enrollment_requests SET status = $1, decided_by = $2, decided_at = $3
        WHERE label = $4 AND public_key = $5 AND status = 'pending'`, [status, by, at, label, publicKey]);
      return res.rowCount === 1;
    },
    async list(q) {
      const res = await c.query('enrollment requests', `SELECT ${REQUEST} FROM enrollment_requests
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR label = $2) AND ($3::text IS NULL OR serial = $3)
        ORDER BY requested_at, label, public_key LIMIT $4`, [q.status ?? null, q.label ?? null, q.serial ?? null, Math.min(Math.max(q.limit, 1), 1000)]);
      return res.rows.map(toEnrollmentRequest);
    },
  };
}
