/**
 * The EST tables on SQLite (migration 011): superseded certificates and enrollment requests
 * awaiting approval. Every call runs inside the transaction's write lock (BEGIN IMMEDIATE).
 */
import { KeylineError } from '../../../common/errors.js';
import type { EnrollmentRequestRepo, SupersededRepo } from '../est-repos.js';
import { toEnrollmentRequest, toSuperseded } from '../est-rows.js';
import type { Row } from '../rows.js';
import type { SqliteTxContext } from './sqlite-tx-context.js';

/** Superseded certificates. */
export function createSupersededRepo(c: SqliteTxContext): SupersededRepo {
  const { s, run } = c;
  return {
    supersede: (serial, expected, next, at) => run(`supersede ${serial}`, () => {
      const moved = s.supersededInsert.get(at, next.certificateSerial, serial, expected) as Row | undefined;
      if (!moved) {
        if (!s.unitExists.get(serial)) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`, { detail: { serial } });
        throw new KeylineError('STORE_ERROR', `supersede ${serial}: its certificate is no longer ${expected}`);
      }
      s.unitSetCertificate.run(next.publicKey, next.certificateDer, next.fingerprintSha256, next.certificateSerial, at, serial);
      return toSuperseded(moved);
    }),
    get: (certificateSerial) => run(`superseded ${certificateSerial}`, () => {
      const r = s.supersededGet.get(certificateSerial) as Row | undefined;
      return r ? toSuperseded(r) : null;
    }),
    listFor: (serial) => run(`superseded of ${serial}`, () => (s.supersededFor.all(serial) as Row[]).map(toSuperseded)),
    findByPublicKey: (publicKey) => run('superseded by key', () => (s.supersededByKey.all(publicKey) as Row[]).map(toSuperseded)),
  };
}

/** Enrollment requests awaiting an operator. */
export function createEnrollmentRequestRepo(c: SqliteTxContext): EnrollmentRequestRepo {
  const { s, run } = c;
  return {
    get: (label, publicKey) => run(`enrollment request ${label}`, () => {
      const r = s.requestGet.get(label, publicKey) as Row | undefined;
      return r ? toEnrollmentRequest(r) : null;
    }),
    upsert: (r) => run(`enrollment request ${r.label} ${r.serial}`, () =>
      toEnrollmentRequest(s.requestUpsert.get(r.label, r.publicKey, r.serial, r.csrDer, r.requestedBy, r.requestedAt) as Row)),
    decide: (label, publicKey, status, by, at) => run(`enrollment request ${label} ${status}`, () =>
      s.requestDecide.run(status, by, at, label, publicKey).changes === 1),
    list: (q) => run('enrollment requests', () => (s.requestList.all({
      status: q.status ?? null, label: q.label ?? null, serial: q.serial ?? null, limit: Math.min(Math.max(q.limit, 1), 1000),
    }) as Row[]).map(toEnrollmentRequest)),
  };
}
