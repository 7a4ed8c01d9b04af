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

/** Opcodes: the one table in secure-element/opcodes.ts (datasheet §9). */
export { Opcode } from '../../secure-element/opcodes.js';

/** What a command handler returns: response data bytes, or a status byte for a 4-byte status response. */
export type CommandResult = Uint8Array | number;
