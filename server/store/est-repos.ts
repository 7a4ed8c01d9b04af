/**
 * The Store's part for EST (issue 17, migration 011): a unit's superseded certificates, kept when
 * a re-enrollment gives it a new one, and enrollment requests waiting for an operator's approval.
 * Both stores implement these repositories (sqlite-est-repos.ts, pg-est-repos.ts) and pass
 * test/server/store/est.suite.ts.
 */

/** A certificate a re-enrollment replaced. */
export interface SupersededCertificateRecord {
  /** Its certificate serial, lowercase hex. */
  certificateSerial: string;
  /** The unit (chip serial) it was issued to. */
  serial: string;
  /** Raw P-256 X‖Y it certified. */
  publicKey: Uint8Array;
  fingerprintSha256: string;
  certificateDer: Uint8Array;
  supersededAt: string;
  /** The successor's certificate serial. */
  supersededBy: string;
}

/** The certificate a unit gets in place of its current one. */
export interface SuccessorCertificate {
  publicKey: Uint8Array;
  certificateDer: Uint8Array;
  fingerprintSha256: string;
  certificateSerial: string;
}

/** Superseded certificates. */
export interface SupersededRepo {
  /**
   * Moves the unit's current certificate into the superseded list and writes `next` into the
   * unit, as one step; returns the superseded record. UNKNOWN_UNIT when there is no such unit,
   * STORE_ERROR when its current certificate is no longer `expectedCertificateSerial` (a
   * concurrent re-enrollment won), DUPLICATE_KEY / SERIAL_EXISTS when the database's uniqueness
   * refuses `next`.
   */
  supersede(serial: string, expectedCertificateSerial: string, next: SuccessorCertificate, at: string): Promise<SupersededCertificateRecord>;
  /** The superseded certificate with this certificate serial, or null. */
  get(certificateSerial: string): Promise<SupersededCertificateRecord | null>;
  /** A unit's superseded certificates, oldest first. */
  listFor(serial: string): Promise<SupersededCertificateRecord[]>;
  /** Every superseded certificate of this raw public key (any unit). */
  findByPublicKey(publicKey: Uint8Array): Promise<SupersededCertificateRecord[]>;
}

/** Where an enrollment request that needs approval stands. */
export type EnrollmentRequestStatus = 'pending' | 'approved' | 'rejected';

/** An enrollment request of a label with manual approval, keyed by label and public key. */
export interface EnrollmentRequestRecord {
  label: string;
  publicKey: Uint8Array;
  /** The chip serial the request names. */
  serial: string;
  /** The latest CSR received for this key (DER). */
  csrDer: Uint8Array;
  requestedBy: string;
  requestedAt: string;
  status: EnrollmentRequestStatus;
  decidedBy: string | null;
  decidedAt: string | null;
}

/** Enrollment requests waiting for (or given) an operator's decision. */
export interface EnrollmentRequestRepo {
  /** The request of this label and key, or null. */
  get(label: string, publicKey: Uint8Array): Promise<EnrollmentRequestRecord | null>;
  /**
   * Records a pending request, or, when one exists for the label and key, keeps it (its status,
   * serial and first request time) and stores the newer CSR; returns the stored request.
   */
  upsert(r: Omit<EnrollmentRequestRecord, 'status' | 'decidedBy' | 'decidedAt'>): Promise<EnrollmentRequestRecord>;
  /** Sets a pending request's decision; false when it is not pending (or absent). */
  decide(label: string, publicKey: Uint8Array, status: 'approved' | 'rejected', by: string, at: string): Promise<boolean>;
  /** Requests by status and/or label and/or serial, oldest first, at most `limit` (1..1000). */
  list(q: { status?: EnrollmentRequestStatus; label?: string; serial?: string; limit: number }): Promise<EnrollmentRequestRecord[]>;
}
