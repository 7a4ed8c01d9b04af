/**
 * Sign (0x41): ECDSA P-256 with the private key in slot param2. Mode 0x80 signs an external
 * 32-byte digest in TempKey (from a pass-through Nonce) or, with bit 5, in the message-digest
 * buffer; mode 0x00 (bit 6: full serial) signs the 55-byte internal message built from a
 * GenKey/GenDig TempKey (key-origin attestation; cryptoauthlib atcah_sign_internal_msg).
 */
import { createHash } from 'node:crypto';
import { signDigest } from '../ecc.js';
import { Cfg, type ChipState } from '../state.js';
import { Opcode, Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { keyEnabled, useSlotKey } from './key-use.js';
import { loadKey } from './keys.js';

/** Handles Sign. */
export const sign: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  // SIGN_MODE_MASK 0xE1: bits 1-4 must be 0.
  if ((mode & 0x1e) !== 0 || cmd.data.length !== 0) return Status.PARSE_ERROR;
  const slot = cmd.param2;
  if (slot > 15) return Status.PARSE_ERROR;
  if (!state.configLocked() || !state.isEccPrivate(slot) || !keyEnabled(state, slot)) return Status.EXECUTION_ERROR;
  const external = (mode & 0x80) !== 0;
  const readKey = state.slotConfig(slot).readKey;
  const tk = state.tempKey;
  let digest: Uint8Array;
  if (external) {
    // SlotConfig.ReadKey bit 0: external messages may be signed with this key.
    if ((readKey & 0x01) === 0 || (mode & 0x41) !== 0) return Status.EXECUTION_ERROR;
    if (mode & 0x20) {
      if (!state.msgDigestBuf) return Status.EXECUTION_ERROR;
      digest = state.msgDigestBuf.subarray(0, 32);
    } else {
      // The digest must come from a pass-through Nonce (TempKey.SourceFlag = input).
      if (!tk.valid || tk.sourceFlag !== 1) return Status.EXECUTION_ERROR;
      digest = tk.value.subarray(0, 32);
    }
  } else {
    // SlotConfig.ReadKey bit 1: internal messages; TempKey must come from GenKey or GenDig.
    if ((readKey & 0x02) === 0 || (mode & 0x20) !== 0) return Status.EXECUTION_ERROR;
    if (!tk.valid || !(tk.genKeyData || tk.genDigData)) return Status.EXECUTION_ERROR;
    digest = createHash('sha256').update(internalMessage(state, mode, slot)).digest();
  }
  const key = loadKey(state, slot);
  if (!key) return Status.ECC_FAULT;
  if (!useSlotKey(state, slot)) return Status.EXECUTION_ERROR;
  const sig = signDigest(key, digest);
  // TempKey is consumed: every Sign needs a fresh Nonce (or GenKey digest).
  if (!(mode & 0x20)) state.tempKey.valid = false;
  return sig;
};

/** The 55-byte internal-sign message (datasheet §"Sign internal"; see atecc608-details.md §7). */
export function internalMessage(state: ChipState, mode: number, slot: number): Uint8Array {
  const tk = state.tempKey;
  const k = tk.keyId;
  const sn = state.serialNumber();
  const full = (mode & 0x40) !== 0;
  const m = new Uint8Array(55);
  m.set(tk.value.subarray(0, 32), 0);
  m.set([Opcode.SIGN, mode, slot & 0xff, slot >> 8], 32);
  m.set(state.config.subarray(Cfg.SLOT_CONFIG + 2 * k, Cfg.SLOT_CONFIG + 2 * k + 2), 36);
  m.set(state.config.subarray(Cfg.KEY_CONFIG + 2 * k, Cfg.KEY_CONFIG + 2 * k + 2), 38);
  m[40] = (k & 0x0f) | (tk.sourceFlag << 4) | (tk.genDigData ? 0x20 : 0) | (tk.genKeyData ? 0x40 : 0) | (tk.noMacFlag ? 0x80 : 0);
  m[43] = sn[8]!;
  if (full) m.set(sn.subarray(4, 8), 44);
  m.set(sn.subarray(0, 2), 48);
  if (full) m.set(sn.subarray(2, 4), 50);
  m[52] = state.slotLocked(k) ? 0x00 : 0x01;
  m[53] = (mode & 0x01) !== 0 ? 0x01 : 0x00;
  return m;
}
