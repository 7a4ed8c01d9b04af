/**
 * The record checks every enrollment path makes, inside its transaction: the unit exists, is
 * not revoked (by status or by its certificate serial in revoked_certificates), was confirmed by a
 * station, and, when a certificate was shown, holds the same key as the record.
 */
import { KeylineError } from '../../common/errors.js';
import type { Tx, UnitRecord } from '../store/store.js';

/** The key (raw X‖Y) and certificate serial (lowercase hex) of the certificate a device showed or connected with. */
export interface ShownKey {
  publicKey: Uint8Array;
  serialHex: string;
}

/** The refusal codes checkUnitStanding throws (a store failure is none of these). */
const STANDING_CODES = new Set(['UNKNOWN_DEVICE', 'KEY_MISMATCH', 'DEVICE_REVOKED', 'UNIT_NOT_CONFIRMED']);

/**
 * checkUnitStanding with the refusal returned rather than thrown, for a step in a grouped write
 * transaction (enrollment-writes.ts), where a throw would fail the step; store failures still throw.
 */
export async function unitStanding(tx: Tx, serial: string, shown?: ShownKey, read?: UnitRecord | null): Promise<UnitRecord | KeylineError> {
  try {
    return await checkUnitStanding(tx, serial, shown, read);
  } catch (err) {
    if (err instanceof KeylineError && STANDING_CODES.has(err.code)) return err;
    throw err;
  }
}

/** The unit behind `serial` if it may enroll; throws the refusal code otherwise. `read`: the unit as already read in this transaction. */
export async function checkUnitStanding(tx: Tx, serial: string, shown?: ShownKey, read?: UnitRecord | null): Promise<UnitRecord> {
  const unit = read === undefined ? await tx.units.getBySerial(serial) : read;
  if (!unit) throw new KeylineError('UNKNOWN_DEVICE', `serial: no unit ${serial} was provisioned by this PKI`);
  if (shown && !Buffer.from(shown.publicKey).equals(Buffer.from(unit.publicKey))) {
    throw new KeylineError('KEY_MISMATCH', `deviceCertificate: its key is not the key recorded for unit ${serial}`);
  }
  // Revocation before confirmation: a revoked device must learn it is revoked, not "retry later".
  if (unit.status === 'revoked') throw new KeylineError('DEVICE_REVOKED', `unit ${serial} is revoked`);
  for (const certSerial of new Set([unit.certificateSerial, ...(shown ? [shown.serialHex] : [])])) {
    if (await tx.revocations.get(certSerial)) throw new KeylineError('DEVICE_REVOKED', `unit ${serial}: certificate ${certSerial} is revoked`);
  }
  if (unit.status !== 'confirmed') throw new KeylineError('UNIT_NOT_CONFIRMED', `unit ${serial} is '${unit.status}', not confirmed by a station`);
  return unit;
}
