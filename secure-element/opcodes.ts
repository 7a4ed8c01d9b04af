/**
 * ATECC608 command opcodes (cryptoauthlib calib_command.h; datasheet §9, command summary).
 * Shared by the host driver and anything else that names a command.
 */
export const Opcode = {
  CHECKMAC: 0x28,
  COUNTER: 0x24,
  DERIVE_KEY: 0x1c,
  ECDH: 0x43,
  GENDIG: 0x15,
  GENKEY: 0x40,
  INFO: 0x30,
  KDF: 0x56,
  LOCK: 0x17,
  MAC: 0x08,
  NONCE: 0x16,
  PRIVWRITE: 0x46,
  RANDOM: 0x1b,
  READ: 0x02,
  SIGN: 0x41,
  SHA: 0x47,
  UPDATE_EXTRA: 0x20,
  VERIFY: 0x45,
  WRITE: 0x12,
  AES: 0x51,
  SECUREBOOT: 0x80,
  SELFTEST: 0x77,
} as const;

/** One of the opcode values above. */
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];
