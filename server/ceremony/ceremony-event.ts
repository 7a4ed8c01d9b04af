/**
 * The audit events a ceremony emits, one per step: the CLI appends them to the hash-chained
 * audit log (or, offline, to a JSON-lines file imported later), so the log shows how the PKI
 * came to be before the server ever ran.
 */
import { createHash } from 'node:crypto';
import type * as x509 from '../../common/x509.js';

/** One audit event of a ceremony (the shape of the store's AuditEntry). */
export interface CeremonyEvent {
  action: string;
  actor: string;
  subject?: string;
  detail?: Record<string, unknown>;
}

/** SHA-256 of `b`, lowercase hex (fingerprints in event details). */
export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The facts of a certificate an event records: enough to recognise it later, nothing secret. */
export function certFacts(c: x509.X509Certificate): Record<string, unknown> {
  return { subject: c.subject, issuer: c.issuer, serial: c.serialNumber, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), sha256: sha256Hex(new Uint8Array(c.rawData)) };
}
