/**
 * Shared key access: for GenKey, Sign and ECDH the private scalar at bytes 4-35 of a P-256 key
 * slot (the parsed key cached per slot so Sign does not recompute the public key); for Verify and
 * GenKey's digest mode the public key stored in a slot's 72-byte format.
 */
import { STORED_PUBLIC_KEY_BYTES, unpadPublicKey } from '../../../common/atecc-public-key.js';
import { keyFromScalar, type EccKey } from '../ecc.js';
import type { ChipState } from '../state.js';

/** The P-256 key held in `slot`, or undefined when the slot holds no valid scalar. */
export function loadKey(state: ChipState, slot: number): EccKey | undefined {
  const cached = state.keyCache.get(slot);
  if (cached) return cached;
  try {
    const key = keyFromScalar(state.slots[slot]!.subarray(4, 36));
    state.keyCache.set(slot, key);
    return key;
  } catch {
    return undefined;
  }
}

/**
 * X‖Y of the public key stored in `slot` (8-15; slot 8 holds it in its first 72 bytes). The chip
 * takes X and Y and ignores the pad bytes, whatever they hold (datasheet §"ECC Key Formatting":
 * byte 0's top nibble is the PubInfo validation state, the rest only recommended zero), so a
 * malformed pad is answered exactly as a zero one.
 */
export function storedPublicKey(state: ChipState, slot: number): Uint8Array {
  return unpadPublicKey(state.slots[slot]!.subarray(0, STORED_PUBLIC_KEY_BYTES));
}
