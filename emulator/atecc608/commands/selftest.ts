/**
 * SelfTest (0x77): runs the selected built-in tests (0x01 RNG, 0x02 ECDSA, 0x08 ECDH, 0x10 AES,
 * 0x20 SHA; 0x3B all: cryptoauthlib SELFTEST_MODE_*) and answers a one-byte bitmap of failures: 0x00 = pass.
 */
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';

/** Handles SelfTest. */
export const selftest: CommandHandler = (_ctx, cmd) => {
  if (cmd.param1 === 0 || (cmd.param1 & ~0x3b) !== 0 || cmd.param2 !== 0 || cmd.data.length !== 0) return Status.PARSE_ERROR;
  // The model's crypto is node's: nothing to fail, so every selected test passes.
  return Uint8Array.of(0x00);
};
