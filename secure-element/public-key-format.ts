/**
 * cryptoauthlib's 72-byte padded public-key layout for data slots (atcab_write_pubkey /
 * atcab_read_pubkey): 4 zero bytes, X (32), 4 zero bytes, Y (32).
 */
import { SecureElementError } from '../common/errors.js';

/** Pads a 64-byte X||Y key into the 72-byte slot layout. */
export function padPublicKey(xy: Uint8Array): Uint8Array {
  if (xy.length !== 64) throw new SecureElementError('ATCA_BAD_PARAM', `public key must be 64 bytes (X||Y), got ${xy.length}`);
  const out = new Uint8Array(72);
  out.set(xy.subarray(0, 32), 4);
  out.set(xy.subarray(32, 64), 40);
  return out;
}

/** Recovers X||Y from the 72-byte slot layout (the pad bytes are ignored, as cryptoauthlib does). */
export function unpadPublicKey(slot: Uint8Array): Uint8Array {
  if (slot.length < 72) throw new SecureElementError('ATCA_BAD_PARAM', `padded public key must be 72 bytes, got ${slot.length}`);
  const out = new Uint8Array(64);
  out.set(slot.subarray(4, 36), 0);
  out.set(slot.subarray(40, 72), 32);
  return out;
}
