/**
 * The chip side of one unit as the line's steps see it, whichever secure element the part is
 * (issue 15). The steps (unit-steps.ts) and the journal are the same for every chip; what a step
 * does on the part is one of these methods. Two implementations: AteccUnitChip (the ATECC608's
 * slot-level steps: config CRC lock, compressed certificates rebuilt and compared) and
 * ElementUnitChip (any SecureElement storing DER certificates: the SE050).
 *
 * Every method is safe to run again on a part a killed station left half-way: it reads the
 * part's state first and skips what is already done.
 */
import type { ChipKind } from '../common/chip-serial.js';
import type { KeyOriginEvidence } from '../common/protocol/key-origin.js';

/** What the line knows of a part before it decides to take it. */
export interface UnitChipFacts {
  chip: ChipKind;
  /** Upper-case hex serial: what the journal, the server and the label name the unit by. */
  serialHex: string;
  serial: Uint8Array;
  /** Nothing done to the part yet (a part that is not blank and not in the journal is someone else's). */
  blank: boolean;
}

/** An issued certificate checked for the part, with whatever the part needs to store it. */
export interface CheckedCertificates {
  deviceDer: Uint8Array;
  issuingDer: Uint8Array;
}

/** One part on the line. */
export interface UnitChip<P extends CheckedCertificates = CheckedCertificates> {
  readonly kind: ChipKind;
  /** Reads the part (serial, how far it is); writes nothing. Called first, once. */
  inspect(): Promise<UnitChipFacts>;
  /** Step 1: the part made ready for a key (608: config written and locked; SE050: P-256, counter). */
  configure(): Promise<void>;
  /** Step 2: the device key, generated inside the part; its public key X‖Y. */
  generateKey(): Promise<Uint8Array>;
  /** Step 2 on resume: the public key of the key already there, never a new key. */
  readPublicKey(): Promise<Uint8Array>;
  /** Key-origin evidence to send with the issue request, fresh for `freshness`; undefined when the part has none worth sending. */
  evidence(freshness: Uint8Array): Promise<KeyOriginEvidence | undefined>;
  /** Step 3: checks the issued certificate against the part (throws CHAIN_INVALID and kin). */
  check(issued: { certificatePem: string; chainPem: string }, serialHex: string, publicKey: Uint8Array): P;
  /** Step 4a: stores the certificates. */
  write(certs: P): Promise<void>;
  /** Step 4b: reads them back and requires them equal to what was issued. */
  verify(certs: P, publicKey: Uint8Array): Promise<void>;
  /** Step 5: locks (608) or checks (SE050: the creation policies already lock) what was stored. */
  lock(): Promise<void>;
}
