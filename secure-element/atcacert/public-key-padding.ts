/**
 * The 72-byte padded public key form the 608 keeps in data slots (atcacert_public_key_add_padding):
 * 4 zero bytes, X, 4 zero bytes, Y, so each coordinate starts a 32-byte block aligned for Write.
 */
import { KeylineError } from '../../common/errors.js';

/** Raw X‖Y (64 bytes) to the 72-byte slot form. */
export function padPublicKey(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new KeylineError('ATCACERT_INVALID', `public key must be 64 bytes X‖Y, got ${raw.length}`);
  const out = new Uint8Array(72);
  out.set(raw.subarray(0, 32), 4);
  out.set(raw.subarray(32, 64), 40);
  return out;
}

/** The 72-byte slot form back to raw X‖Y; the pad bytes must be zero. */
export function unpadPublicKey(padded: Uint8Array): Uint8Array {
  if (padded.length !== 72) throw new KeylineError('ATCACERT_INVALID', `padded public key must be 72 bytes, got ${padded.length}`);
  if ([0, 1, 2, 3, 36, 37, 38, 39].some((i) => padded[i] !== 0)) throw new KeylineError('ATCACERT_INVALID', 'padded public key has non-zero pad bytes');
  return Uint8Array.of(...padded.subarray(4, 36), ...padded.subarray(40, 72));
}
