/**
 * Shared private-key access for GenKey, Sign and ECDH: the scalar sits at bytes 4-35 of a P-256
 * key slot; the parsed key is cached per slot so Sign does not recompute the public key.
 */
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
