/**
 * The ATECC608's stored public-key format (datasheet §"ECC Key Formatting"; Microchip's "Stored
 * Public Key Format"): a P-256 key X‖Y kept in a 72-byte slot (8-15) as 4 pad bytes, X (32), 4 pad
 * bytes, Y (32). Commands take and give the bare 64-byte X‖Y (GenKey, Verify external, ECDH); the
 * padded form is what Write stores and what Verify (stored key), Verify(Validate) and GenKey's
 * public-key digest read from a slot.
 *
 * The layout lives here, below both sides, because the emulator (a model judged by Microchip's
 * host library) and the host library must agree on it without importing each other. Each side
 * keeps its own policy: the chip reads X and Y and ignores the pad, so the emulator only unpads;
 * the host refuses a read-back whose pad no chip would hold (storedPublicKeyPadFault).
 */
import { SecureElementError } from './errors.js';

/** Bytes of a stored public key (a 72-byte slot, or the first 72 bytes of slot 8). */
export const STORED_PUBLIC_KEY_BYTES = 72;

/**
 * Top nibble of pad byte 0 on a slot whose KeyConfig.PubInfo is 1: Write leaves the key
 * invalidated (0xA), Verify(Validate) sets 0x5 and Verify(Invalidate) 0xA again (datasheet
 * §"ECC Key Formatting", §"Verify Command").
 */
export const PubKeyValidation = { VALID: 0x5, INVALID: 0xa } as const;

/** Pads a 64-byte X‖Y into the stored format, pad bytes zero (cryptoauthlib calib_write_pubkey); ATCA_BAD_PARAM otherwise. */
export function padPublicKey(xy: Uint8Array): Uint8Array {
  if (xy.length !== 64) throw new SecureElementError('ATCA_BAD_PARAM', `public key must be 64 bytes (X||Y), got ${xy.length}`);
  const out = new Uint8Array(STORED_PUBLIC_KEY_BYTES);
  out.set(xy.subarray(0, 32), 4);
  out.set(xy.subarray(32, 64), 40);
  return out;
}

/**
 * X‖Y from the 72-byte stored format, pad bytes ignored as the chip and cryptoauthlib's
 * calib_read_pubkey ignore them; ATCA_BAD_PARAM unless exactly 72 bytes are given.
 */
export function unpadPublicKey(stored: Uint8Array): Uint8Array {
  if (stored.length !== STORED_PUBLIC_KEY_BYTES) throw new SecureElementError('ATCA_BAD_PARAM', `stored public key must be ${STORED_PUBLIC_KEY_BYTES} bytes, got ${stored.length}`);
  const out = new Uint8Array(64);
  out.set(stored.subarray(4, 36), 0);
  out.set(stored.subarray(40, 72), 32);
  return out;
}

/**
 * Why `stored` is not a public key as a chip holds one, or undefined if it is: 72 bytes whose pad
 * bytes are zero (as calib_write_pubkey writes them and the datasheet recommends), except that the
 * top nibble of byte 0 may carry a validation state (PubKeyValidation). Anything else is not a key
 * written in this format: another slot's contents (a compressed certificate is 72 bytes too) or
 * a corrupted read.
 */
export function storedPublicKeyPadFault(stored: Uint8Array): string | undefined {
  if (stored.length !== STORED_PUBLIC_KEY_BYTES) return `${stored.length} bytes, not ${STORED_PUBLIC_KEY_BYTES}`;
  const state = stored[0]! >> 4;
  if (state !== 0 && state !== PubKeyValidation.VALID && state !== PubKeyValidation.INVALID) return `byte 0 is 0x${hex(stored[0]!)}: top nibble neither 0 nor a validation state (5, A)`;
  for (const i of [0, 1, 2, 3, 36, 37, 38, 39]) {
    const pad = i === 0 ? stored[0]! & 0x0f : stored[i]!;
    if (pad !== 0) return `pad byte ${i} is 0x${hex(stored[i]!)}, not zero`;
  }
  return undefined;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');
