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
  /** Signer (intermediate CA) public key, 72-byte stored format (common/atecc-public-key.ts). */
  SIGNER_PUBLIC_KEY: 11,
  /** Compressed signer certificate (72 bytes, atcacert format). */
  SIGNER_CERT: 12,
} as const;

/** Monotonic counter used by field enrollment (signed challenges carry its value). */
export const ENROLLMENT_COUNTER = 0;

/** Slots locked one by one (Lock mode 2) once their contents are written and checked. */
export const SLOTS_LOCKED_AFTER_PROVISIONING: readonly number[] = [Slot.DEVICE_KEY, Slot.DEVICE_CERT, Slot.SIGNER_PUBLIC_KEY, Slot.SIGNER_CERT];
