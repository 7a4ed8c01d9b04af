/**
 * Revocations, CRLs and enrollment state on SQLite.
 */
import { KeylineError } from '../../../common/errors.js';
import { normaliseSerialHex, type CrlRepo, type EnrollmentRepo, type RevocationRepo } from '../store.js';
import { toCrl, toCrlListing, toEnrollment, toNonce, toRevocation, type Row } from '../rows.js';
import type { SqliteTxContext } from './sqlite-tx-context.js';

/** Revocations, in the order they were recorded (the CRL and OCSP read them since a seq). */
export function createRevocationRepo(c: SqliteTxContext): RevocationRepo {
  const { s, run } = c;
  return {
    add: (r) => run(`revocation ${r.certificateSerial}`, () => {
      const serial = normaliseSerialHex(r.certificateSerial);
      s.revocationInsert.run(serial, r.kind, r.subject, r.reason, r.revokedAt, r.revokedBy);
      return toRevocation(s.revocationGet.get(serial) as Row);
    }),
    get: (serial) => run(`revocation ${serial}`, () => {
      const row = s.revocationGet.get(normaliseSerialHex(serial)) as Row | undefined;
      return row ? toRevocation(row) : null;
    }),
    listSince: (afterSeq, limit = -1) => run('revocations list', () =>
      (s.revocationsSince.all(afterSeq, limit) as Row[]).map((r) => ({ ...toRevocation(r), seq: r.seq as number }))),
    lastSeq: () => run('revocations seq', () => s.revocationLastSeq.get() as number),
    listForCrl: () => run('revocations for the CRL', () => (s.revocationsForCrl.all() as string[]).map(toCrlListing)),
  };
}

/** The latest CRL per issuing CA; its number only ever grows. */
export function createCrlRepo(c: SqliteTxContext): CrlRepo {
  const { s, run } = c;
  return {
    latest: (issuerKeyId = '') => run('crl latest', () => {
      const r = s.crlLatest.get(issuerKeyId) as Row | undefined;
      return r ? toCrl(r) : null;
    }),
    save: (c) => run(`crl ${c.number}`, () => {
      if (s.crlSave.run(c.issuerKeyId ?? '', c.number, c.thisUpdate, c.nextUpdate, c.revocationSeq, c.der).changes !== 1) {
        throw new KeylineError('STORE_ERROR', `crl number ${c.number}: not greater than the stored CRL's number`);
      }
    }),
  };
}

/** Enrollment nonces, counters, enrollments and broker bindings. */
export function createEnrollmentRepo(c: SqliteTxContext): EnrollmentRepo {
  const { s, run } = c;
  return {
    addNonce: (n) => run(`nonce for ${n.serial}`, () => {
      s.nonceInsert.run(n.nonce, n.serial, n.certFingerprint, n.expiresAt, c.now());
    }),
    useNonce: (nonce) => run('nonce', () => {
      // The common case, a fresh nonce, in one statement; otherwise it is unknown or already used.
      const fresh = s.nonceUseFresh.get(nonce) as Row | undefined;
      if (fresh) return toNonce(fresh, 'was_used');
      const row = s.nonceGet.get(nonce) as Row | undefined;
      return row ? toNonce(row) : null;
    }),
    purgeNonces: (before) => run('nonce purge', () => s.noncePurge.run(before).changes),
    lastCounter: (serial) => run(`counter ${serial}`, () => (s.counterGet.get(serial) as number | undefined) ?? null),
    setLastCounter: (serial, counter, at) => run(`counter ${serial}`, () => void s.counterSet.run(serial, counter, at)),
    get: (serial) => run(`enrollment ${serial}`, () => {
      const row = s.enrollmentGet.get(serial) as Row | undefined;
      return row ? toEnrollment(row) : null;
    }),
    insert: (e) => run(`enrollment ${e.serial}`, () => void s.enrollmentInsert.run(e.serial, e.counter, e.group, e.method, e.at)),
    bindCertificate: (serial, at) => run(`broker binding ${serial}`, () => void s.bindingInsert.run({ serial, at })),
    certificateBinding: (serial) => run(`broker binding ${serial}`, () => (s.bindingGet.get(serial) as string | undefined) ?? null),
  };
}
