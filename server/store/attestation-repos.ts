/**
 * The Store's part for key-origin evidence (issue 15, migration 012): what a station sent with a
 * unit's issue request to show where the unit's key came from, and what the server made of it
 * (services/key-origin.ts). Written in the unit's own transaction, read with the unit. Both
 * stores implement it (sqlite-attestation-repo.ts, pg-attestation-repo.ts) and pass
 * test/server/store/attestation.suite.ts.
 */
import type { ChipKind } from '../../common/chip-serial.js';

/**
 * What evidence established: 'verified' (an SE050 attested read chaining to a configured
 * manufacturer root, naming this chip and key), 'invalid' (evidence that did not verify; `reason`
 * says why), 'unattested' (an ATECC608's report, which no manufacturer key signs).
 */
export type KeyOriginStatus = 'verified' | 'invalid' | 'unattested';

/** The evidence formats (secure-element/secure-element.ts AttestationEvidence). */
export type EvidenceFormat = 'se05x-attested-read' | 'atecc608-unattested';

/** A unit's key-origin evidence as stored. */
export interface UnitAttestationRecord {
  serial: string;
  chip: ChipKind;
  format: EvidenceFormat;
  status: KeyOriginStatus;
  reason: string | null;
  /** The evidence as received (binary fields as hex), enough to verify it again later. */
  evidence: Record<string, unknown>;
  /** What verification established (unique id, key attributes, certificate subjects), or null. */
  facts: Record<string, unknown> | null;
  recordedAt: string;
}

/** Key-origin evidence of units. */
export interface AttestationRepo {
  /** Records evidence of units inserted in this transaction (one record per unit, ever). */
  insertMany(records: UnitAttestationRecord[]): Promise<void>;
  /** The unit's evidence, or null when its station sent none. */
  get(serial: string): Promise<UnitAttestationRecord | null>;
}
