/**
 * PrivWrite (0x46): writes a P-256 private key (36 bytes: 4 zero pad bytes, then the 32-byte
 * scalar) into slot param2, which must be configured as one (KeyConfig Private, KeyType 4) and
 * not slot-locked. Data = value (36) ‖ MAC (32), count 75 (calib_priv_write).
 * - Mode 0x00, in clear: only while the data zone is unlocked; the MAC bytes are ignored.
 * - Mode 0x40, encrypted: TempKey must come from a GenDig over the slot's WriteKey (GenDigData,
 *   KeyId = WriteKey, SourceFlag random, NoMacFlag clear); bytes 0-31 are XORed with TempKey and
 *   32-35 with SHA-256(TempKey)[0:4]; the MAC is SHA-256(TempKey ‖ 0x46 ‖ mode ‖ param2 LE ‖
 *   SN[8] ‖ SN[0:1] ‖ 21 zeros ‖ plaintext 36) (atcah_privwrite_auth_mac). After data lock the
 *   slot's WriteConfig bit 14 (Encrypt, 0b x1xx) must allow it. A wrong MAC answers 0x01.
 */
import { createHash } from 'node:crypto';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';
import { inputMacMatches, writeSessionReady } from './input-mac.js';

/** Handles PrivWrite. */
export const privwrite: CommandHandler = ({ state }, cmd) => {
  const mode = cmd.param1;
  const slot = cmd.param2;
  if ((mode & ~0x40) !== 0 || slot > 15 || cmd.data.length !== 68) return Status.PARSE_ERROR;
  if (!state.configLocked() || !state.isEccPrivate(slot) || state.slotLocked(slot)) return Status.EXECUTION_ERROR;
  const sc = state.slotConfig(slot);
  let value: Uint8Array;
  if (mode === 0x00) {
    if (state.dataLocked()) return Status.EXECUTION_ERROR;
    value = cmd.data.slice(0, 36);
  } else {
    if (state.dataLocked() && (sc.writeConfig & 0x4) === 0) return Status.EXECUTION_ERROR;
    if (!writeSessionReady(state, sc.writeKey)) return Status.EXECUTION_ERROR;
    const tk = state.tempKey;
    const k1 = tk.value.subarray(0, 32);
    const k2 = createHash('sha256').update(k1).digest();
    value = cmd.data.slice(0, 36).map((b, i) => b ^ (i < 32 ? k1[i]! : k2[i - 32]!));
    const ok = inputMacMatches(state, 0x46, mode, slot, 21, value, cmd.data.subarray(36, 68));
    tk.valid = false;
    if (!ok) return Status.MISCOMPARE;
  }
  state.slots[slot]!.fill(0);
  state.slots[slot]!.set(value, 0);
  state.keyCache.delete(slot);
  return Status.SUCCESS;
};
