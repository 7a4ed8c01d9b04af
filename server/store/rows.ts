/**
 * Row → record mappers shared by both stores: the schemas are the same (sqlite/migrations and
 * postgres/migrations), BLOB/BYTEA arrive as Buffers (Uint8Arrays), JSON columns as text,
 * and integers as numbers (the PostgreSQL pool parses BIGINT: postgres/pg-rows.ts).
 */
import type { AuditRecord, CaActivationRecord, CrlListing, CrlRecord, EnrollmentRecord, NonceRecord, OutboxJobRecord, RegistrationRecord, RevocationRecord, RootCrlRecord, StationRecord, UnitRecord, WorkOrderRecord } from './store.js';

/** A result row, as either driver returns it. */
export type Row = Record<string, unknown>;

/** Row → WorkOrderRecord. */
export function toWorkOrder(r: Row): WorkOrderRecord {
  return {
    id: r.id as string,
    product: r.product as string,
    quota: r.quota as number,
    issued: r.issued as number,
    stations: r.stations === null ? null : (JSON.parse(r.stations as string) as string[]),
    status: r.status as WorkOrderRecord['status'],
    createdAt: r.created_at as string,
    // Absent before migration 005 only in hand-built rows; the column defaults to ["self"].
    registries: r.registries == null ? ['self'] : (JSON.parse(r.registries as string) as string[]),
    preregistration: (r.preregistration as WorkOrderRecord['preregistration']) ?? 'confirmed',
    // Before migration 012 every order was an ATECC608 order without attestation.
    chip: (r.chip as WorkOrderRecord['chip']) ?? 'atecc608',
    requireAttestation: Number(r.require_attestation ?? 0) === 1,
  };
}

/** Row → UnitRecord (BLOBs come back as Buffers, which are Uint8Arrays). */
export function toUnit(r: Row): UnitRecord {
  return {
    serial: r.serial as string,
    publicKey: r.public_key as Uint8Array,
    fingerprintSha256: r.fingerprint_sha256 as string,
    certificateDer: r.certificate_der as Uint8Array,
    certificateSerial: r.certificate_serial as string,
    workOrder: r.work_order as string,
    station: r.station as string,
    status: r.status as UnitRecord['status'],
    statusReason: r.status_reason as string | null,
    idempotencyKey: r.idempotency_key as string | null,
    issuedAt: r.issued_at as string,
    confirmedAt: r.confirmed_at as string | null,
    updatedAt: r.updated_at as string,
  };
}

/** Row → StationRecord. */
export function toStation(r: Row): StationRecord {
  return { id: r.id as string, fingerprint: r.fingerprint as string, role: r.role as StationRecord['role'], createdAt: r.created_at as string };
}

/** Row → AuditRecord. */
export function toAudit(r: Row): AuditRecord {
  return {
    seq: r.seq as number,
    at: r.at as string,
    actor: r.actor as string,
    action: r.action as string,
    subject: r.subject as string | null,
    detail: r.detail as string | null,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}

/** Row → RevocationRecord. */
export function toRevocation(r: Row): RevocationRecord {
  return {
    certificateSerial: r.certificate_serial as string,
    kind: r.kind as RevocationRecord['kind'],
    subject: (r.subject as string | null) ?? null,
    reason: r.reason as RevocationRecord['reason'],
    revokedAt: r.revoked_at as string,
    revokedBy: r.revoked_by as string,
  };
}

/**
 * The SQL expression both stores read a CRL listing through: serial, reason and time joined by
 * spaces (the serial is hex and the reason a CRLReason name, so the first two spaces delimit).
 */
export const CRL_LISTING_SQL = "certificate_serial || ' ' || reason || ' ' || revoked_at";

/** One CRL_LISTING_SQL value → CrlListing. */
export function toCrlListing(line: string): CrlListing {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  return { certificateSerial: line.slice(0, a), reason: line.slice(a + 1, b) as CrlListing['reason'], revokedAt: line.slice(b + 1) };
}

/** Row → NonceRecord; `usedColumn` names the column holding the state to report. */
export function toNonce(r: Row, usedColumn = 'used'): NonceRecord {
  return { nonce: r.nonce as string, serial: r.serial as string, certFingerprint: r.cert_fingerprint as string, expiresAt: r.expires_at as string, used: r[usedColumn] === 1 };
}

/** Row → EnrollmentRecord. */
export function toEnrollment(r: Row): EnrollmentRecord {
  return { serial: r.serial as string, counter: r.counter as number | null, group: r.grp as string, method: r.method as EnrollmentRecord['method'], at: r.at as string };
}

/** Row → OutboxJobRecord. */
export function toOutboxJob(r: Row): OutboxJobRecord {
  return {
    id: r.id as number,
    serial: r.serial as string,
    registry: r.registry as string,
    action: r.action as OutboxJobRecord['action'],
    status: r.status as OutboxJobRecord['status'],
    attempts: r.attempts as number,
    nextAttemptAt: r.next_attempt_at as string,
    lastError: r.last_error as string | null,
    leaseUntil: r.lease_until as string | null,
    externalId: (r.external_id as string | null) ?? null,
    createdAt: r.created_at as string,
    deliveredAt: r.delivered_at as string | null,
  };
}

/** Row → RegistrationRecord. */
export function toRegistration(r: Row): RegistrationRecord {
  return { serial: r.serial as string, registry: r.registry as string, externalId: r.external_id as string, registeredAt: r.registered_at as string };
}

/** Row → CrlRecord (one issuing CA's latest CRL). */
export function toCrl(r: Row): CrlRecord {
  return {
    issuerKeyId: r.issuer_key_id as string, number: r.crl_number as number, thisUpdate: r.this_update as string,
    nextUpdate: r.next_update as string, revocationSeq: r.revocation_seq as number, der: r.der as Uint8Array,
  };
}

/** Row → CaActivationRecord. */
export function toCaActivation(r: Row): CaActivationRecord {
  return { seq: r.seq as number, keyId: r.key_id as string, activateAt: r.activate_at as string, actor: r.actor as string, createdAt: r.created_at as string };
}

/** Row → RootCrlRecord. */
export function toRootCrl(r: Row): RootCrlRecord {
  return { number: r.crl_number as number, thisUpdate: r.this_update as string, nextUpdate: r.next_update as string, der: r.der as Uint8Array, importedAt: r.imported_at as string };
}
