/**
 * Nonce (0x16): mode bits 0-1 = 0/1 random nonce from a 20-byte NumIn (with / without seed update),
 * 3 pass-through; bit 5 a 64-byte pass-through; bits 6-7 the target (0x00 TempKey, 0x40 message
 * digest buffer, 0x80 alternate key buffer) (cryptoauthlib calib_command.h NONCE_MODE_*).
 * In the random modes param2 bit 15 (NONCE_ZERO_CALC_TEMPKEY) puts the current TempKey in place of
 * the RNG output in the calculation, and the answer is the new TempKey itself, its flags unchanged
 * (cryptoauthlib atcah_nonce); TempKey must be valid then.
 */
import { createHash } from 'node:crypto';
import { inputTempKey, invalidTempKey } from '../state.js';
import { Opcode, Status } from '../status.js';
import { chipRandom, type CommandHandler } from './context.js';

/** Handles Nonce. */
export const nonce: CommandHandler = (ctx, cmd) => {
  const { state } = ctx;
  const mode = cmd.param1;
  const kind = mode & 0x03;
  const target = mode & 0xc0;
  if ((mode & 0x1c) !== 0 || kind === 2 || target === 0xc0) return Status.PARSE_ERROR;
  if (kind === 3) {
    const size = mode & 0x20 ? 64 : 32;
    if (cmd.data.length !== size || cmd.param2 !== 0) return Status.PARSE_ERROR;
    const value = new Uint8Array(cmd.data);
    if (target === 0x40) {
      state.msgDigestBuf = value;
    } else if (target === 0x80) {
      state.altKeyBuf = value;
    } else {
      state.tempKey = inputTempKey(value);
    }
    return Status.SUCCESS;
  }
  // Random modes: 20-byte NumIn, TempKey target only, param2 0x0000 or 0x8000.
  if (cmd.data.length !== 20 || (mode & 0x20) !== 0 || target !== 0 || (cmd.param2 & 0x7fff) !== 0) return Status.PARSE_ERROR;
  if (cmd.param2 & 0x8000) {
    const tk = state.tempKey;
    if (!tk.valid) return Status.EXECUTION_ERROR;
    const next = createHash('sha256').update(tk.value.subarray(0, 32)).update(cmd.data).update(Uint8Array.of(Opcode.NONCE, mode, 0x00)).digest();
    tk.value.fill(0);
    tk.value.set(next);
    return new Uint8Array(next);
  }
  const randOut = chipRandom(ctx);
  // TempKey = SHA-256(RandOut ‖ NumIn ‖ opcode ‖ mode ‖ LSB(param2)), 55 bytes (cryptoauthlib atcah_nonce).
  const digest = createHash('sha256')
    .update(randOut)
    .update(cmd.data)
    .update(Uint8Array.of(Opcode.NONCE, mode, cmd.param2 & 0xff))
    .digest();
  const tk = invalidTempKey();
  tk.value.set(digest);
  tk.valid = true;
  tk.sourceFlag = 0;
  state.tempKey = tk;
  return randOut;
};
