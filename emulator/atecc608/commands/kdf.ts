/**
 * KDF (0x56): derives a key from a source key and a message (cryptoauthlib calib_kdf, KDF_MODE_*
 * and KDF_DETAILS_* in calib_command.h). Mode bits 0-1 the source (TempKey, TempKey upper 32,
 * slot param2 LSB, alternate key buffer); bits 2-4 the target (TempKey, TempKey upper, slot
 * param2 MSB, alternate key buffer, output, output encrypted with the IO protection key); bits
 * 5-6 the algorithm (PRF, AES, HKDF; crypto/kdf.ts); bit 7 zero. Data = details (4, LE) ‖ message
 * (16 for AES, else details byte 3 bytes, at most 128).
 * Details: PRF bits 0-1 key length 16/32/48/64, bit 8 output 64 bytes, bits 9-10 AEAD mode 1
 * (first 32 bytes to the target, last 32 returned); AES bits 0-1 the 16-byte key block; HKDF bits
 * 0-1 the message source (2 the input, 1 TempKey, 3 the input checked for KdfIvStr at KdfIvLoc,
 * config bytes 72-74; 0, a slot, is not modelled and refused), bit 2 an all-zero key.
 * ChipOptions (bytes 90-91): KDFAESEnable (bit 2) gates the AES algorithm; KDFProt (bits 10-11) 1
 * allows output only encrypted, 2 no output at all. A target slot must be one the host could
 * change otherwise: WriteConfig Always (0000) or DeriveKey-enabled (bit 13), not private, not
 * slot-locked; the model refuses the rest rather than let KDF write where Write may not.
 */
import { randomBytes } from 'node:crypto';
import { kdfAes, kdfHkdf, kdfPrf } from '../crypto/kdf.js';
import { chipOptions, ioEncrypt, ioProtectionKey } from '../crypto/io-protection.js';
import { Cfg, inputTempKey, SLOT_SIZES, type ChipState } from '../state.js';
import { Status, type CommandResult } from '../status.js';
import type { CommandHandler } from './context.js';
import { useSlotKey } from './key-use.js';

const ALG_PRF = 0x00;
const ALG_AES = 0x20;

/** Handles KDF. */
export const kdf: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  const source = mode & 0x03;
  const target = mode & 0x1c;
  const alg = mode & 0x60;
  if ((mode & 0x80) !== 0 || target > 0x14 || alg === 0x60 || cmd.data.length < 4) return Status.PARSE_ERROR;
  const details = cmd.data[0]! | (cmd.data[1]! << 8) | (cmd.data[2]! << 16) | (cmd.data[3]! << 24);
  const msgLen = alg === ALG_AES ? 16 : cmd.data[3]!;
  if (msgLen > 128 || cmd.data.length !== 4 + msgLen) return Status.PARSE_ERROR;
  const message = cmd.data.subarray(4);
  if (!state.configLocked()) return Status.EXECUTION_ERROR;
  const opts = chipOptions(state);
  const kdfProt = (opts >> 10) & 0x03;
  if ((target === 0x10 && kdfProt !== 0) || (target === 0x14 && kdfProt > 1)) return Status.EXECUTION_ERROR;
  if (alg === ALG_AES && (opts & 0x0004) === 0) return Status.EXECUTION_ERROR;
  const src = sourceKey(state, source, cmd.param2 & 0xff);
  if (!src) return Status.EXECUTION_ERROR;

  let result: Uint8Array;
  let aeadOut: Uint8Array | undefined;
  if (alg === ALG_PRF) {
    const keyLen = 16 * ((details & 0x03) + 1);
    const outLen = details & 0x100 ? 64 : 32;
    const aead = (details >> 9) & 0x03;
    if (keyLen > src.length || aead > 1 || (aead === 1 && outLen !== 64)) return Status.EXECUTION_ERROR;
    result = kdfPrf(src.subarray(0, keyLen), message, outLen);
    if (aead === 1) [result, aeadOut] = [result.subarray(0, 32), result.slice(32)];
  } else if (alg === ALG_AES) {
    const at = 16 * (details & 0x03);
    if (at + 16 > src.length) return Status.EXECUTION_ERROR;
    result = kdfAes(src.subarray(at, at + 16), message);
  } else {
    const msg = hkdfMessage(state, details & 0x03, message);
    if (!msg) return Status.EXECUTION_ERROR;
    result = kdfHkdf(details & 0x04 ? new Uint8Array(32) : src.subarray(0, 32), msg);
  }
  return place(state, target, cmd.param2 >> 8, result, aeadOut);
};

/** The source key bytes, or undefined when the source holds no usable key. */
function sourceKey(state: ChipState, source: number, slot: number): Uint8Array | undefined {
  const tk = state.tempKey;
  switch (source) {
    case 0:
      return tk.valid ? tk.value.slice() : undefined;
    case 1:
      return tk.valid ? tk.value.slice(32, 64) : undefined;
    case 2:
      if (slot > 15 || state.keyConfig(slot).private || !state.dataLocked() || !useSlotKey(state, slot)) return undefined;
      return state.slots[slot]!.slice(0, Math.min(64, SLOT_SIZES[slot]!));
    default:
      return state.altKeyBuf?.slice(0, 32);
  }
}

/** HKDF's message by its location bits. */
function hkdfMessage(state: ChipState, loc: number, input: Uint8Array): Uint8Array | undefined {
  if (loc === 1) return state.tempKey.valid ? state.tempKey.value.slice(0, 32) : undefined;
  if (loc === 2) return input;
  if (loc === 3) {
    // The special IV function: the input must carry KdfIvStr (2 bytes) at KdfIvLoc.
    const at = state.config[Cfg.KDF_IV_LOC]!;
    const ok = at + 2 <= input.length && input[at] === state.config[Cfg.KDF_IV_STR] && input[at + 1] === state.config[Cfg.KDF_IV_STR + 1];
    return ok ? input : undefined;
  }
  return undefined;
}

/** WriteConfig Always, or the DeriveKey bit (13) set. */
function writableByKdf(writeConfig: number): boolean {
  return writeConfig === 0 || (writeConfig & 0x2) !== 0;
}

/** Puts the result where the target bits say; answers data for output targets. */
function place(state: ChipState, target: number, slot: number, result: Uint8Array, aeadOut: Uint8Array | undefined): CommandResult {
  switch (target) {
    case 0x00:
      state.tempKey = inputTempKey(result);
      break;
    case 0x04:
      if (!state.tempKey.valid) return Status.EXECUTION_ERROR;
      state.tempKey.value.set(result.subarray(0, 32), 32);
      break;
    case 0x08:
      if (slot > 15 || state.keyConfig(slot).private || state.slotLocked(slot) || result.length > SLOT_SIZES[slot]!) return Status.EXECUTION_ERROR;
      if (!writableByKdf(state.slotConfig(slot).writeConfig)) return Status.EXECUTION_ERROR;
      state.slots[slot]!.set(result, 0);
      state.keyCache.delete(slot);
      break;
    case 0x0c:
      state.altKeyBuf = result.slice(0, 32);
      break;
    case 0x10:
      return result.slice();
    default: {
      const io = ioProtectionKey(state);
      if (!io) return Status.EXECUTION_ERROR;
      return ioEncrypt(io, result, new Uint8Array(randomBytes(32)));
    }
  }
  return aeadOut ?? Status.SUCCESS;
}
