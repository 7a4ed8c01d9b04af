/**
 * Status bytes the ATECC608 answers in a 4-byte response, and the opcodes it knows
 * (values as in cryptoauthlib's calib_command.h and atca_status.h).
 */

/** Device status codes (the single payload byte of a status response). */
export const Status = {
  SUCCESS: 0x00,
  MISCOMPARE: 0x01,
  PARSE_ERROR: 0x03,
  ECC_FAULT: 0x05,
  SELFTEST_ERROR: 0x07,
  HEALTH_TEST_ERROR: 0x08,
  EXECUTION_ERROR: 0x0f,
  AFTER_WAKE: 0x11,
  WATCHDOG_ABOUT_TO_EXPIRE: 0xee,
  CRC_ERROR: 0xff,
} as const;

/** The 608's command opcodes. */
export const Opcode = {
  MAC: 0x08,
  WRITE: 0x12,
  GENDIG: 0x15,
  NONCE: 0x16,
  LOCK: 0x17,
  RANDOM: 0x1b,
  DERIVE_KEY: 0x1c,
  UPDATE_EXTRA: 0x20,
  COUNTER: 0x24,
  CHECKMAC: 0x28,
  INFO: 0x30,
  GENKEY: 0x40,
  SIGN: 0x41,
  ECDH: 0x43,
  VERIFY: 0x45,
  PRIVWRITE: 0x46,
  SHA: 0x47,
  AES: 0x51,
  KDF: 0x56,
  SELFTEST: 0x77,
  SECUREBOOT: 0x80,
  READ: 0x02,
} as const;

/** What a command handler returns: response data bytes, or a status byte for a 4-byte status response. */
export type CommandResult = Uint8Array | number;
