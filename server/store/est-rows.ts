/**
 * Row → record mappers for the EST tables (migration 011), shared by both stores as rows.ts is.
 */
import type { Row } from './rows.js';
import type { EnrollmentRequestRecord, SupersededCertificateRecord } from './est-repos.js';

/** Row → SupersededCertificateRecord. */
export function toSuperseded(r: Row): SupersededCertificateRecord {
  return {
    certificateSerial: r.certificate_serial as string,
    serial: r.serial as string,
    publicKey: r.public_key as Uint8Array,
    fingerprintSha256: r.fingerprint_sha256 as string,
    certificateDer: r.certificate_der as Uint8Array,
    supersededAt: r.superseded_at as string,
    supersededBy: r.superseded_by as string,
  };
}

/** Row → EnrollmentRequestRecord. */
export function toEnrollmentRequest(r: Row): EnrollmentRequestRecord {
  return {
    label: r.label as string,
    publicKey: r.public_key as Uint8Array,
    serial: r.serial as string,
    csrDer: r.csr_der as Uint8Array,
    requestedBy: r.requested_by as string,
    requestedAt: r.requested_at as string,
    status: r.status as EnrollmentRequestRecord['status'],
    decidedBy: (r.decided_by as string | null) ?? null,
    decidedAt: (r.decided_at as string | null) ?? null,
  };
}
