/**
 * Row ↔ UnitAttestationRecord for both stores (unit_attestations, migration 012): the evidence
 * and facts are JSON text columns.
 */
import type { ChipKind } from '../../common/chip-serial.js';
import type { EvidenceFormat, KeyOriginStatus, UnitAttestationRecord } from './attestation-repos.js';
import type { Row } from './rows.js';

/** The columns, in the order attestationParams writes them. */
export const ATTESTATION_COLUMNS = 'serial, chip, format, status, reason, evidence, facts, recorded_at';

/** A record as the column values of ATTESTATION_COLUMNS. */
export function attestationParams(a: UnitAttestationRecord): Array<string | null> {
  return [a.serial, a.chip, a.format, a.status, a.reason, JSON.stringify(a.evidence), a.facts === null ? null : JSON.stringify(a.facts), a.recordedAt];
}

/** A unit_attestations row as a record. */
export function toAttestation(r: Row): UnitAttestationRecord {
  return {
    serial: r.serial as string,
    chip: r.chip as ChipKind,
    format: r.format as EvidenceFormat,
    status: r.status as KeyOriginStatus,
    reason: (r.reason as string | null) ?? null,
    evidence: JSON.parse(r.evidence as string) as Record<string, unknown>,
    facts: r.facts == null ? null : (JSON.parse(r.facts as string) as Record<string, unknown>),
    recordedAt: r.recorded_at as string,
  };
}
