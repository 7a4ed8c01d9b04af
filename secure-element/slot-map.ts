/**
 * Keyline's provisioning slot map for the ATECC608: which slot holds what. The station, the
 * firmware simulator and the atcacert definitions all read it from here; the config-zone bytes
 * that enforce it are in provisioning-config.ts and documented in SLOT-MAP.md.
 */

/** Data-zone slots used by provisioning. */
export const Slot = {
  /** Device private key, P-256, made inside the chip by GenKey; never readable. */
  DEVICE_KEY: 0,
  /** General-purpose data (416 bytes), readable and writable in clear. */
  GENERAL_DATA: 8,
  /** Compressed device certificate (72 bytes, atcacert format). */
  DEVICE_CERT: 10,
  /** Signer (intermediate CA) public key, 72-byte padded form. */
  SIGNER_PUBLIC_KEY: 11,
  /** Compressed signer certificate (72 bytes, atcacert format). */
  SIGNER_CERT: 12,
} as const;

/** Monotonic counter used by field enrollment (signed challenges carry its value). */
export const ENROLLMENT_COUNTER = 0;

/** Size of a compressed certificate and of a padded public key slot. */
export const COMPRESSED_CERT_SIZE = 72;

/** Slots locked one by one (Lock mode 2) once their contents are written and checked. */
export const SLOTS_LOCKED_AFTER_PROVISIONING: readonly number[] = [Slot.DEVICE_KEY, Slot.DEVICE_CERT, Slot.SIGNER_PUBLIC_KEY, Slot.SIGNER_CERT];

/**
 * A 64-byte public key X‖Y in cryptoauthlib's 72-byte slot layout: 4 zero bytes, X, 4 zero bytes,
 * Y (atcab_write_pubkey).
 */
export function padPublicKey(xy: Uint8Array): Uint8Array {
  if (xy.length !== 64) throw new RangeError(`public key must be 64 bytes (X||Y), got ${xy.length}`);
  const out = new Uint8Array(72);
  out.set(xy.subarray(0, 32), 4);
  out.set(xy.subarray(32), 40);
  return out;
}

/** The 64-byte X‖Y from a 72-byte padded public key slot (atcab_read_pubkey). */
export function unpadPublicKey(slot: Uint8Array): Uint8Array {
  if (slot.length !== 72) throw new RangeError(`padded public key must be 72 bytes, got ${slot.length}`);
  const out = new Uint8Array(64);
  out.set(slot.subarray(4, 36), 0);
  out.set(slot.subarray(40, 72), 32);
  return out;
}
